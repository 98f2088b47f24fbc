//! `{{ method.route }}`
{%- if !method.docs.is_empty() %}
//!
{%- for line in method.docs %}
{%- if line.is_empty() %}
//!
{%- else %}
//! {{ line }}
{%- endif %}
{%- endfor %}
{%- endif %}
//!
//! Your code: svcgen created this file once and never touches it again.

use std::sync::Arc;

use tonic::{Request, Response, Status{% if method.client_streaming %}, Streaming{% endif %}};
{% for import in method.handler_imports %}
use {{ import }};
{%- endfor %}

/// Handles `{{ method.proto_name }}`.
{{ method.handler_signature }}
{{ method.handler_body }}
}
