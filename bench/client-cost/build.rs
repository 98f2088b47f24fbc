fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The greeter's proto imports the google.api HTTP annotations svcgen ships.
    let descriptors = protox::compile(
        ["greeter/v1/greeter.proto"],
        ["../../examples/greeter/proto", "../../templates/proto"],
    )?;
    tonic_prost_build::configure().build_server(false).compile_fds(descriptors)?;
    Ok(())
}
