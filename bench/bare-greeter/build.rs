fn main() -> Result<(), Box<dyn std::error::Error>> {
    let descriptors = protox::compile(["greeter/v1/greeter.proto"], ["../../examples/greeter/proto"])?;
    tonic_prost_build::configure().build_client(false).compile_fds(descriptors)?;
    Ok(())
}
