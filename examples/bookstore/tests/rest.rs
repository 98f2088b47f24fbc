//! The bookstore as its REST callers use it: every route over HTTP, the JSON it answers
//! (proto3 JSON: lowerCamelCase, int64 as strings, enums by name, timestamps as RFC 3339),
//! and its errors.

mod support;

use serde_json::{Value, json};

/// A REST client of the service at `addr`.
struct Rest {
    client: reqwest::Client,
    base: String,
}

impl Rest {
    fn new(addr: std::net::SocketAddr) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    /// `method path` with `body`: the status and the JSON answer.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the call");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}"));
        (status, json)
    }
}

fn moby_dick() -> Value {
    json!({
        "name": "shelves/classics/books/moby-dick",
        "title": "Moby-Dick",
        "author": "Herman Melville",
        "genre": "FICTION",
        "pages": "635",
        "published": "1851-10-18T00:00:00Z",
        "tags": ["whales"],
    })
}

#[tokio::test]
async fn books_are_got_created_listed_updated_lent_and_deleted_over_rest() {
    let (server, _channel) = support::start().await;
    let rest = Rest::new(server.http_addr());

    // Get by resource name: `{name=shelves/*/books/*}`.
    let (status, book) = rest
        .call("GET", "/v1/shelves/classics/books/moby-dick", None)
        .await;
    assert_eq!((status, book), (200, moby_dick()));

    // Create: the path's parent, the `book` field from the body, `book_id` from the query.
    let created =
        json!({"title": "Dune", "author": "Frank Herbert", "genre": "SCIENCE", "pages": 412});
    let (status, book) = rest
        .call(
            "POST",
            "/v1/shelves/classics/books?bookId=dune",
            Some(created),
        )
        .await;
    assert_eq!(status, 200, "{book}");
    assert_eq!(
        book,
        json!({
            "name": "shelves/classics/books/dune",
            "title": "Dune",
            "author": "Frank Herbert",
            "genre": "SCIENCE",
            "pages": "412",
        })
    );

    // List a page at a time, and by genre (an enum by name in the query).
    let (status, page) = rest
        .call("GET", "/v1/shelves/classics/books?page_size=1", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["books"][0]["name"], "shelves/classics/books/dune");
    assert_eq!(page["nextPageToken"], "shelves/classics/books/dune");
    let (_, page) = rest
        .call(
            "GET",
            "/v1/shelves/classics/books?pageSize=1&pageToken=shelves/classics/books/dune",
            None,
        )
        .await;
    assert_eq!(page, json!({"books": [moby_dick()]}));
    let (_, page) = rest
        .call("GET", "/v1/shelves/classics/books?genre=FICTION", None)
        .await;
    assert_eq!(page, json!({"books": [moby_dick()]}));

    // Update with a field mask: only the masked fields change.
    let update = json!({"title": "Dune (1965)", "author": "someone else"});
    let (status, book) = rest
        .call(
            "PATCH",
            "/v1/shelves/classics/books/dune?updateMask=title",
            Some(update),
        )
        .await;
    assert_eq!(status, 200, "{book}");
    assert_eq!(book["title"], "Dune (1965)");
    assert_eq!(book["author"], "Frank Herbert");

    // A custom verb, with the whole request from the body.
    let (status, book) = rest
        .call(
            "POST",
            "/v1/shelves/classics/books/dune:lend",
            Some(json!({"borrower": "ada"})),
        )
        .await;
    assert_eq!((status, &book["borrower"]), (200, &json!("ada")));
    let (status, error) = rest
        .call(
            "POST",
            "/v1/shelves/classics/books/dune:lend",
            Some(json!({"borrower": "grace"})),
        )
        .await;
    assert_eq!(status, 400, "FAILED_PRECONDITION is a 400: {error}");
    assert_eq!(error["code"], 9);

    // Delete, then it is gone.
    let (status, empty) = rest
        .call("DELETE", "/v1/shelves/classics/books/dune", None)
        .await;
    assert_eq!((status, empty), (200, json!({})));
    let (status, error) = rest
        .call("GET", "/v1/shelves/classics/books/dune", None)
        .await;
    assert_eq!(
        (status, error),
        (
            404,
            json!({"code": 5, "message": "no book shelves/classics/books/dune", "details": []})
        )
    );
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn bad_requests_are_400s_naming_what_is_wrong() {
    let (server, _channel) = support::start().await;
    let rest = Rest::new(server.http_addr());
    for (method, path, body, names) in [
        (
            "POST",
            "/v1/shelves/s/books?bookId=x",
            json!({"title": "T", "colour": "red"}),
            "colour",
        ),
        (
            "POST",
            "/v1/shelves/s/books?bookId=x",
            json!({"pages": "many"}),
            "pages",
        ),
        (
            "GET",
            "/v1/shelves/s/books?pageSize=ten",
            Value::Null,
            "pageSize",
        ),
        (
            "GET",
            "/v1/shelves/s/books?genre=POETRY",
            Value::Null,
            "POETRY",
        ),
        ("POST", "/v1/shelves/s/books?bookId=x", json!({}), "title"),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (status, error) = rest.call(method, path, body).await;
        assert_eq!(status, 400, "{method} {path}: {error}");
        assert_eq!(error["code"], 3, "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{method} {path}: {message}");
    }
    server.shutdown().await.expect("clean shutdown");
}
