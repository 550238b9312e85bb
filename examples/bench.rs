//! Prints measured figures; asserts nothing. Run with `cargo run --release --example bench`.
//!
//! - the receiver's time per handover: sequential POSTs of valid, distinct, signed handovers from
//!   Stuttgart to a real Heidelberg server over one mutual-TLS connection, each answered only
//!   after the message is checked and committed (SQLite, synchronous=FULL) and the receipt is
//!   signed; measured as the client's round trip on loopback;
//! - the crypto floor: ES256 sign and verify alone;
//! - the wall time of the whole demo (two offices, one handover end to end).

use std::time::{Duration, Instant};

#[path = "../tests/api/harness.rs"]
mod harness;

use harness::*;

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<5} median {:>8.3} ms   p90 {:>8.3} ms   min {:>8.3} ms   max {:>8.3} ms",
        samples.len(),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(samples[0]),
        ms(samples[samples.len() - 1])
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let (_work, offices) = spawn_offices(&[HEIDELBERG]).await;
    let client = mtls_client(STUTTGART);
    let signer = signer(STUTTGART);
    let url = handovers_url(&offices[0]);

    // Warm up the connection and the schema.
    let warm = sign_value(&signer, &serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap());
    assert_eq!(post(&client, &url, warm).await.unwrap().status, 202);

    let bodies: Vec<String> =
        (0..n).map(|_| sign_value(&signer, &serde_json::to_value(handover(STUTTGART, HEIDELBERG)).unwrap())).collect();
    let mut round_trips = Vec::with_capacity(n);
    for body in bodies {
        let start = Instant::now();
        let answer = post(&client, &url, body).await.unwrap();
        round_trips.push(start.elapsed());
        assert_eq!(answer.status, 202, "{answer:?}");
    }
    stats("receiver: handover checked, stored, receipted", round_trips);
    stop_all(offices).await;

    let payload = serde_json::to_vec(&handover(STUTTGART, HEIDELBERG)).unwrap();
    let directory = staffel::federation::Directory::load(&staffel::dev_pki::directory_path(&certs())).unwrap();
    let mut signs = Vec::new();
    let mut verifies = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let jws = signer.sign(&payload, "staffel.handover.v1");
        signs.push(t.elapsed());
        let t = Instant::now();
        staffel::federation::jws::verify(&jws, &directory, "staffel.handover.v1").unwrap();
        verifies.push(t.elapsed());
    }
    stats("ES256 sign (payload only)", signs);
    stats("ES256 verify (payload only)", verifies);

    let mut demos = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut sink = Vec::new();
        assert!(staffel::demo::run(&certs(), &staffel::clock::Clock::system(), None, &mut sink).await.unwrap());
        demos.push(t.elapsed());
    }
    stats("demo: two offices, one whole handover", demos);
}
