# Longer recipes. `cargo install just` to use them; the README's two commands need only cargo.

# Run the server on the embedded SQLite database (demo data on first start).
run:
    cargo run --release -p server

# Every test (what CI runs, after fmt and clippy).
test:
    cargo test --workspace

# What CI runs.
ci:
    bash .ci/run

lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# Engine overhead against async-graphql's DataLoader (criterion).
bench-overhead:
    cargo bench -p loader-core --features async-graphql --bench overhead

# Every simulator scenario with --sweep; tables, JSON and plots under bench-out/sim.
bench-sim:
    mkdir -p bench-out/sim
    for f in scenarios/*.toml; do n=$(basename $f .toml); cargo run --release -q -p loader-sim -- --scenario $f --sweep --json bench-out/sim/$n.json --plot bench-out/sim/$n.svg; done
