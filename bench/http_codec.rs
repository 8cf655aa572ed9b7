//! HTTP/1.1 codec costs on the order path: rendering a POST /order with the five L2 auth headers
//! and a ~750-byte body into a pre-sized buffer, and parsing a typical `Content-Length` and a
//! chunked response from the reused read buffer. No sockets: pure CPU cost.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sattebaaz::net::http::{Method, Request, RequestTemplate, ResponseParser};

fn order_body() -> Vec<u8> {
    let mut body = br#"{"order":{"salt":123456789,"maker":"0x1234567890abcdef1234567890abcdef12345678","signer":"0x1234567890abcdef1234567890abcdef12345678","tokenId":"71321045679252212594626385532706912750332728571942532289631379312455583992563","makerAmount":"5000000","takerAmount":"10000000","side":"BUY","signatureType":0,"timestamp":"1764000000000","metadata":"0x0000000000000000000000000000000000000000000000000000000000000000","builder":"0x0000000000000000000000000000000000000000000000000000000000000000","signature":"0x"#.to_vec();
    body.extend(std::iter::repeat_n(b'a', 130));
    body.extend_from_slice(
        br#""},"owner":"00000000-0000-0000-0000-000000000000","orderType":"GTC"}"#,
    );
    body
}

fn bench(c: &mut Criterion) {
    let template = RequestTemplate::new(
        "clob.polymarket.com",
        &[
            ("User-Agent", "sattebaaz"),
            ("Accept", "*/*"),
            ("Content-Type", "application/json"),
        ],
    )
    .expect("template");
    let body = order_body();
    let headers: [(&[u8], &[u8]); 5] = [
        (
            b"POLY_ADDRESS",
            b"0x1234567890abcdef1234567890abcdef12345678",
        ),
        (
            b"POLY_SIGNATURE",
            b"dGhpcyBpcyBhIDQ0IGJ5dGUgYmFzZTY0dXJsIHNpZ24=",
        ),
        (b"POLY_TIMESTAMP", b"1764000000"),
        (b"POLY_API_KEY", b"00000000-0000-0000-0000-000000000000"),
        (
            b"POLY_PASSPHRASE",
            b"0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ];
    let mut out = Vec::with_capacity(4096);
    c.bench_function("http_render_post_order_l2", |b| {
        b.iter(|| {
            let req = Request {
                method: Method::Post,
                path: b"/order",
                headers: &headers,
                body: black_box(&body),
            };
            template.write(&req, &mut out).expect("fits");
            black_box(out.len())
        })
    });

    let json: &[u8] = b"{\"success\":true,\"errorMsg\":\"\",\"orderID\":\
\"0x0000000000000000000000000000000000000000000000000000000000000001\",\"status\":\"live\"}";
    let mut length_response = b"HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 07:00:00 GMT\r\n\
Content-Type: application/json\r\nConnection: keep-alive\r\nPoly-RateLimit-Remaining: 59\r\n"
        .to_vec();
    length_response.extend_from_slice(format!("Content-Length: {}\r\n\r\n", json.len()).as_bytes());
    length_response.extend_from_slice(json);
    let (first, second) = json.split_at(64);
    let mut chunked_response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for part in [first, second] {
        chunked_response.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked_response.extend_from_slice(part);
        chunked_response.extend_from_slice(b"\r\n");
    }
    chunked_response.extend_from_slice(b"0\r\n\r\n");
    let mut parser = ResponseParser::new(16 * 1024, 64 * 1024);
    for (name, wire) in [
        ("http_parse_content_length", &length_response[..]),
        ("http_parse_chunked", &chunked_response[..]),
    ] {
        parser.reset(false);
        let (_, done) = parser.feed(wire).expect("valid");
        assert!(done && parser.keep_alive());
        assert_eq!(parser.view().body, json);
        c.bench_function(name, |b| {
            b.iter(|| {
                parser.reset(false);
                let (_, done) = parser.feed(black_box(wire)).expect("valid");
                black_box((done, parser.view().body.len()))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
