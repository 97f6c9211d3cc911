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

# Engine overhead end to end, with the database out of the picture: the server on an
# in-memory SQLite database with the demo data, adaptive against async-graphql's DataLoader
# in alternating rounds at 64 clients; table and JSON in bench-out/overhead.
# Extra flags go to bench-overhead, e.g. `just bench-overhead-e2e --database tmpfs`.
bench-overhead-e2e *ARGS:
    cargo build --release -p server -p bench
    target/release/bench-overhead --rounds 3 --warmup 3s --duration 10s --clients 64 {{ARGS}}

# Every simulator scenario with --sweep; tables, JSON and plots under bench-out/sim.
bench-sim:
    mkdir -p bench-out/sim
    for f in scenarios/*.toml; do n=$(basename $f .toml); cargo run --release -q -p loader-sim -- --scenario $f --sweep --json bench-out/sim/$n.json --plot bench-out/sim/$n.svg; done

# End-to-end benchmark on a throwaway PostgreSQL (docs/benchmarking.md): light and heavy
# mix, every loader mode, async-graphql at pools 4-32, PostGraphile, at 16/64/256 clients;
# confirmation rounds, autocannon, "the database gets slower"; final tables with their
# targets in bench-out/e2e/results.md. About an hour; the estimate is printed at the start.
# Extra flags go to bench-e2e, e.g. `just bench-e2e --scale 0.2 --soak 300s`.
bench-e2e *ARGS:
    cargo build --release -p server -p bench
    target/release/bench-e2e {{ARGS}}

# A smoke run of the same on a small data set with short cells (about ten minutes on 2
# cores; output in bench-out/e2e-quick). Its figures are not for comparison.
bench-e2e-quick *ARGS:
    cargo build --release -p server -p bench
    target/release/bench-e2e --quick {{ARGS}}

# Fault tests (database killed / slow, 5x overload, client disconnects, panicking batch
# function, bad input, router fuzzing) in their long form: phases ten times longer, more
# requests and fuzz cases. CI runs the short form inside `cargo test --workspace`.
chaos scale="10":
    CHAOS_SCALE={{scale}} CHAOS_TIMING=1 PROPTEST_CASES=5000 cargo test -p test-support --test faults_database --test faults_overload --test faults_disconnect --test faults_panic --test bad_input --test fuzz_router -- --nocapture --test-threads 1
