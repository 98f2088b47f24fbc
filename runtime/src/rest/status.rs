//! Errors of REST calls: a gRPC status as the HTTP status grpc-gateway gives it, with a
//! body shaped like `google.rpc.Status` (`code`, `message`, `details`).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};
use tonic::Code;

/// An error answer.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    status: StatusCode,
    code: Code,
    message: String,
}

impl Problem {
    /// The answer to a handler's `status`.
    pub(crate) fn grpc(status: tonic::Status) -> Self {
        Self {
            status: http_status(status.code()),
            code: status.code(),
            message: status.message().to_owned(),
        }
    }

    /// Bad input: 400, INVALID_ARGUMENT.
    pub(crate) fn invalid(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: Code::InvalidArgument,
            message: message.to_owned(),
        }
    }

    /// A failure of the service's own: 500, INTERNAL.
    pub(crate) fn internal(message: &str) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: Code::Internal,
            message: message.to_owned(),
        }
    }

    /// An HTTP-level answer (no route, a body too large), with the gRPC code of its
    /// status.
    pub(crate) fn http(status: StatusCode, message: &str) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => Code::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Code::Unimplemented,
            StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
            _ => Code::Unknown,
        };
        Self {
            status,
            code,
            message: message.to_owned(),
        }
    }

    /// The `google.rpc.Status`-shaped body.
    pub(crate) fn body(&self) -> Value {
        json!({
            "code": i32::from(self.code),
            "message": self.message,
            "details": [],
        })
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body();
        (self.status, axum::Json(body)).into_response()
    }
}

/// The HTTP status of a gRPC code, as grpc-gateway maps it.
pub(crate) const fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        // 499 Client Closed Request, nginx's.
        Code::Cancelled => match StatusCode::from_u16(499) {
            Ok(status) => status,
            Err(_) => StatusCode::BAD_REQUEST,
        },
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_as_grpc_gateway_maps_them() {
        for (code, status) in [
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Internal, 500),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ] {
            assert_eq!(http_status(code).as_u16(), status, "{code:?}");
        }
    }
}
