//! `client-cost bare|stack|stack-no-headers CALLS URL...`: 200 calls of warm-up, then CALLS unary SayHello
//! calls one after the other, through a bare tonic `Channel` to the first URL or through
//! svcgen-runtime's client stack over all of them (deadline, breaker, retries, p2c
//! balancing, trace-context propagation). Each call is made inside an unsampled trace, as
//! 99% of the calls of a service in production (sampling 0.01) are: the stack injects its
//! B3 and W3C headers and records no span. bench/clients.sh counts the instructions of two
//! runs under callgrind and divides their difference by the difference of their calls.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use svcgen_runtime::client::ClientConfig;
use svcgen_runtime::config::TracingConfig;
use tonic::transport::Channel;

mod pb {
    tonic::include_proto!("greeter.v1");
}

use pb::HelloRequest;
use pb::greeter_client::GreeterClient;

async fn run<T>(mut client: GreeterClient<T>, calls: usize)
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    for _ in 0..200 + calls {
        let request = HelloRequest { name: "world".to_owned() };
        let reply = client.say_hello(request).await.expect("a reply").into_inner();
        assert_eq!(reply.message, "Hello, world!");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, calls, urls @ ..] = args.as_slice() else {
        panic!("usage: client-cost bare|stack|stack-no-headers CALLS URL...");
    };
    let calls: usize = calls.parse().expect("CALLS is a number");
    let parent = SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        TraceFlags::default(),
        true,
        TraceState::default(),
    );
    let _unsampled = opentelemetry::Context::new().with_remote_span_context(parent).attach();
    match kind.as_str() {
        "bare" => {
            let channel = Channel::from_shared(urls[0].clone()).expect("a URL").connect_lazy();
            run(GreeterClient::new(channel), calls).await;
        }
        "stack" | "stack-no-headers" => {
            let mut tracing = TracingConfig { enabled: true, sample_ratio: 0.01, ..TracingConfig::default() };
            if kind == "stack-no-headers" {
                // No B3 nor W3C headers: the stack's own cost, without propagation's.
                tracing.propagation.clear();
            }
            let config = ClientConfig { endpoints: urls.to_vec(), ..ClientConfig::default() };
            let channel = config.channel("greeter", &tracing, &[]).expect("a channel");
            run(GreeterClient::new(channel), calls).await;
        }
        other => panic!("{other}: bare, stack or stack-no-headers"),
    }
}
