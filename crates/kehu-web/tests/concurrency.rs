//! Many clients at once: reads and writes through API tokens (each use of a
//! token records when it was last used) never fail for the database being
//! busy, on SQLite and on PostgreSQL.

mod support;

use kehu_store::both;
use serde_json::json;
use support::TestApp;

both!(concurrent_clients_are_all_answered, |kind| async move {
    let app = TestApp::spawn(kind).await;
    let (_, token) = app.user("li", "agent", "").await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (get, post) = (
            app.get(&token, "/api/v1/customers?limit=20"),
            app.post(
                &token,
                "/api/v1/customers",
                json!({"kind": "person", "name": format!("并发客户{n}")}),
            ),
        );
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..10 {
                let g = get.try_clone().unwrap().send().await.unwrap();
                statuses.push(g.status().as_u16());
            }
            statuses.push(post.send().await.unwrap().status().as_u16());
            statuses
        }));
    }
    for t in tasks {
        let statuses = t.await.unwrap();
        assert!(
            statuses[..10].iter().all(|s| *s == 200) && statuses[10] == 201,
            "{statuses:?}"
        );
    }
    let page = app
        .get(&token, "/api/v1/customers?limit=50")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 16);
});
