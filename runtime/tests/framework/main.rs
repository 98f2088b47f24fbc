//! The runtime's integration tests, in one binary so that it links once: each module
//! starts the test service of `support` (a small gRPC and HTTP service of its own, built
//! on the runtime's public API) and checks one area of the framework against it.

mod auth;
mod clients;
mod codegen;
mod grpc;
mod limits;
mod logging;
mod metrics;
mod pprof;
mod rest;
mod shutdown;
mod support;
mod telemetry;
mod tls;
mod zipkin;
