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

use crate::app::AppState;
{%- for import in method.handler_imports %}
use {{ import }};
{%- endfor %}
{%- if method.server_streaming %}
use crate::svcgen::BoxStream;
{%- endif %}

/// Handles `{{ method.proto_name }}`.
pub async fn {{ method.ident }}(
    _state: Arc<AppState>,
    _request: Request<{% if method.client_streaming %}Streaming<{{ method.handler_request }}>{% else %}{{ method.handler_request }}{% endif %}>,
) -> Result<Response<{% if method.server_streaming %}BoxStream<{{ method.handler_response }}>{% else %}{{ method.handler_response }}{% endif %}>, Status> {
    Err(Status::unimplemented("{{ method.route }} is not implemented yet"))
}
