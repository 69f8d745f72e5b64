//! Tenant isolation: a second tenant cannot read or change the first tenant's data through any
//! GraphQL field. Another tenant's ids answer NOT_FOUND, never FORBIDDEN.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::{
    helpers::{Database, Queue, error_code, spawn_app},
    on_both_databases,
};

/// Every root field, and where this file checks it. A new field fails
/// `every_root_field_is_covered_by_isolation_test` until it is added here and checked below.
const COVERED_FIELDS: &[&str] = &[
    "viewer",
    "tenant",
    "operators",
    "listingSchema",
    "listings",
    "listing",
    "listingImports",
    "listingImport",
    "apiKeys",
    "signUp",
    "logIn",
    "refreshSession",
    "logOut",
    "addOperator",
    "setListingSchema",
    "upsertListing",
    "upsertListings",
    "importListingsCsv",
    "createApiKey",
    "revokeApiKey",
    "members",
    "member",
    "profileFields",
    "matchRules",
    "deliveries",
    "delivery",
    "mailTemplates",
    "previewMailTemplate",
    "createMember",
    "updateMember",
    "setMemberSubscribed",
    "deleteMember",
    "importMembers",
    "setProfileFields",
    "createMatchRule",
    "updateMatchRule",
    "deleteMatchRule",
    "setNotifyOnChange",
    "saveMailTemplate",
    "resetMailTemplate",
    "senders",
    "rateLimitPresets",
    "suppressions",
    "dkimKeys",
    "createSender",
    "updateSender",
    "deleteSender",
    "activateSender",
    "checkSender",
    "sendTestMail",
    "addSuppression",
    "removeSuppression",
    "generateDkimKey",
    "deleteDkimKey",
    "sequences",
    "sequence",
    "setTimeZone",
    "createSequence",
    "updateSequence",
    "deleteSequence",
    "addStep",
    "updateStep",
    "removeStep",
    "backfillStep",
    "recordMemberEvent",
    "exportMembers",
    "setNonstandardAddresses",
    "setBrandColors",
    "moveStep",
    "broadcasts",
    "scheduleBroadcast",
    "cancelBroadcast",
    "setLogo",
    "removeLogo",
];

async fn second_tenant_cannot_reach_first_tenants_data(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let first = app.sign_up("sakura").await;
    let second = app.sign_up("momiji").await;
    app.set_tokyo_schema(&first).await;

    let upsert = "mutation($listings: [ListingInput!]!) { upsertListings(listings: $listings) { created rejected } }";
    let secret =
        json!([{ "externalId": "secret-1", "fields": { "name": "桜の物件", "price": 120000 } }]);
    app.graphql(Some(&first), upsert, json!({ "listings": secret }))
        .await;
    let first_key = app
        .create_api_key(
            &first,
            &[
                "LISTINGS_READ",
                "LISTINGS_WRITE",
                "SCHEMA_READ",
                "SCHEMA_WRITE",
            ],
        )
        .await;
    let keys = app
        .graphql(Some(&first), "{ apiKeys { id } }", json!({}))
        .await;
    let first_key_id = keys["data"]["apiKeys"][0]["id"].clone();
    let import = app
        .graphql(
            Some(&first),
            "mutation($input: ListingCsvImportInput!) { importListingsCsv(input: $input) { id } }",
            json!({ "input": { "csv": "id,name\nc-1,CSV物件\n", "externalIdColumn": "id", "columns": [{ "column": "name", "field": "name" }] } }),
        )
        .await;
    let first_import_id = import["data"]["importListingsCsv"]["id"].clone();
    let second_key = app
        .create_api_key(
            &second,
            &[
                "LISTINGS_READ",
                "LISTINGS_WRITE",
                "SCHEMA_READ",
                "SCHEMA_WRITE",
            ],
        )
        .await;

    for token in [&second, &second_key] {
        // Reads: the second tenant sees only its own, empty data.
        let listing = app
            .graphql(
                Some(token),
                "{ listing(externalId: \"secret-1\") { id } }",
                json!({}),
            )
            .await;
        assert_eq!(error_code(&listing), "NOT_FOUND", "{listing}");
        let listings = app
            .graphql(
                Some(token),
                "{ listings(search: \"桜\") { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(listings["data"]["listings"]["totalCount"], 0);
        let schema = app
            .graphql(Some(token), "{ listingSchema { name } }", json!({}))
            .await;
        assert_eq!(schema["data"]["listingSchema"], json!([]));
        let imported = app
            .graphql(
                Some(token),
                "query($id: ID!) { listingImport(id: $id) { id } }",
                json!({ "id": first_import_id }),
            )
            .await;
        assert_eq!(error_code(&imported), "NOT_FOUND", "{imported}");
        let imports = app
            .graphql(Some(token), "{ listingImports { id } }", json!({}))
            .await;
        assert_eq!(imports["data"]["listingImports"], json!([]));
        let viewer = app
            .graphql(
                Some(token),
                "{ viewer { tenant { slug } } tenant { slug listingCount } }",
                json!({}),
            )
            .await;
        assert_eq!(viewer["data"]["viewer"]["tenant"]["slug"], "momiji");
        assert_eq!(viewer["data"]["tenant"]["listingCount"], 0);
    }

    // Operator-only reads.
    let second_keys = app
        .graphql(Some(&second), "{ apiKeys { id } }", json!({}))
        .await;
    assert_eq!(second_keys["data"]["apiKeys"].as_array().unwrap().len(), 1);
    assert_ne!(second_keys["data"]["apiKeys"][0]["id"], first_key_id);
    let operators = app
        .graphql(Some(&second), "{ operators { email } }", json!({}))
        .await;
    assert_eq!(
        operators["data"]["operators"],
        json!([{ "email": "owner@momiji.example.jp" }])
    );

    // Writes: the same external id creates the second tenant's own listing.
    let overwrite = json!([{ "externalId": "secret-1", "fields": { "name": "上書き" } }]);
    app.graphql(Some(&second), "mutation { setListingSchema(fields: [{name: \"name\", fieldType: TEXT, labelJa: \"名称\", labelEn: \"\"}]) { name } }", json!({})).await;
    let written = app
        .graphql(Some(&second), upsert, json!({ "listings": overwrite }))
        .await;
    assert_eq!(written["data"]["upsertListings"]["created"], 1, "{written}");
    let single = app
        .graphql(Some(&second_key), "mutation($l: ListingInput!) { upsertListing(listing: $l) { created updated unchanged } }",
            json!({ "l": { "externalId": "secret-1", "fields": { "name": "上書き" } } }))
        .await;
    assert_eq!(single["data"]["upsertListing"]["unchanged"], 1, "{single}");
    let revoke = app
        .graphql(
            Some(&second),
            "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
            json!({ "id": first_key_id }),
        )
        .await;
    assert_eq!(error_code(&revoke), "NOT_FOUND");
    let added = app
        .graphql(Some(&second), "mutation { addOperator(input: {email: \"owner@sakura.example.jp\", password: \"some password 1\", role: ADMIN}) { email } }", json!({}))
        .await;
    assert!(
        added["errors"].is_null(),
        "an address may operate two tenants: {added}"
    );
    let created_key = app.graphql(Some(&second), "mutation { createApiKey(input: {name: \"b\", scopes: [LISTINGS_READ]}) { apiKey { id } } }", json!({})).await;
    assert!(created_key["errors"].is_null());

    // The first tenant's data is untouched.
    let mine = app.graphql(Some(&first), "{ listing(externalId: \"secret-1\") { fields } listingSchema { name } apiKeys { revokedAt } operators { email } }", json!({})).await;
    assert_eq!(
        mine["data"]["listing"]["fields"]["name"], "桜の物件",
        "{mine}"
    );
    assert_eq!(mine["data"]["listingSchema"].as_array().unwrap().len(), 7);
    assert!(mine["data"]["apiKeys"][0]["revokedAt"].is_null());
    assert_eq!(mine["data"]["operators"].as_array().unwrap().len(), 1);
    let still_works = app
        .graphql(Some(&first_key), "{ listings { totalCount } }", json!({}))
        .await;
    assert!(
        still_works["data"]["listings"]["totalCount"]
            .as_u64()
            .unwrap()
            >= 1,
        "{still_works}"
    );
    app.stop().await;
}
on_both_databases!(second_tenant_cannot_reach_first_tenants_data);

/// Members, rules, profile fields, templates and deliveries of one tenant are out of reach of
/// another tenant's operator and API key.
async fn second_tenant_cannot_reach_first_tenants_mail(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let first = app.sign_up("kaede").await;
    let second = app.sign_up("ichou").await;
    app.set_tokyo_schema(&first).await;
    app.set_tokyo_schema(&second).await;
    let profile = json!([{ "name": "max_price", "fieldType": "NUMBER", "labelJa": "上限", "labelEn": "Max" }]);
    let set_profile =
        "mutation($fields: [ListingFieldInput!]!) { setProfileFields(fields: $fields) { name } }";
    app.graphql(Some(&first), set_profile, json!({ "fields": profile }))
        .await;
    let rule = app.graphql(Some(&first),
        "mutation { createMatchRule(rule: { name: \"上限\", clauses: [{ listingField: \"price\", operator: AT_MOST, profileField: \"max_price\" }] }) { id } }",
        json!({}),
    ).await;
    let rule_id = rule["data"]["createMatchRule"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = app.graphql(Some(&first),
        "mutation { createMember(member: { email: \"secret@example.jp\", profile: { max_price: 200000 } }) { id } }",
        json!({}),
    ).await;
    let member_id = member["data"]["createMember"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql(Some(&first),
        "mutation { saveMailTemplate(kind: LISTING, locale: JA, subject: \"秘密\", html: \"<p>秘密</p>\", text: \"秘密\") { customized } }",
        json!({}),
    ).await;
    let upserted = app.graphql(Some(&first),
        "mutation { upsertListing(listing: { externalId: \"k-1\", fields: { name: \"楓\", price: 100000 } }) { created } }",
        json!({}),
    ).await;
    assert_eq!(
        upserted["data"]["upsertListing"]["created"], 1,
        "{upserted}"
    );
    let mut delivery_id = None;
    for _ in 0..100 {
        let body = app
            .graphql(
                Some(&first),
                "{ deliveries { nodes { id state } } }",
                json!({}),
            )
            .await;
        if let Some(id) = body["data"]["deliveries"]["nodes"][0]["id"].as_str() {
            delivery_id = Some(id.to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let delivery_id = delivery_id.expect("the first tenant's member was mailed");
    let listing = app
        .graphql(
            Some(&first),
            "{ listing(externalId: \"k-1\") { id } }",
            json!({}),
        )
        .await;
    let listing_id = listing["data"]["listing"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let second_key = app
        .create_api_key(
            &second,
            &[
                "LISTINGS_READ",
                "SCHEMA_READ",
                "SCHEMA_WRITE",
                "MEMBERS_READ",
                "MEMBERS_WRITE",
                "DELIVERIES_READ",
            ],
        )
        .await;
    for caller in [&second, &second_key] {
        let reads = app.graphql(Some(caller),
            "{ members { totalCount } profileFields { name } matchRules { id } deliveries { totalCount } mailTemplates { subject customized } }",
            json!({}),
        ).await;
        assert_eq!(reads["data"]["members"]["totalCount"], 0, "{reads}");
        assert_eq!(reads["data"]["profileFields"], json!([]), "{reads}");
        assert_eq!(reads["data"]["matchRules"], json!([]), "{reads}");
        assert_eq!(reads["data"]["deliveries"]["totalCount"], 0, "{reads}");
        assert!(
            reads["data"]["mailTemplates"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["customized"] == false),
            "{reads}"
        );

        let not_found = [
            ("query($id: ID!) { member(id: $id) { email } }", &member_id),
            (
                "query($id: ID!) { delivery(id: $id) { subject } }",
                &delivery_id,
            ),
            (
                "mutation($id: ID!) { updateMember(id: $id, member: { email: \"x@example.jp\" }) { id } }",
                &member_id,
            ),
            (
                "mutation($id: ID!) { setMemberSubscribed(id: $id, subscribed: false) { id } }",
                &member_id,
            ),
            ("mutation($id: ID!) { deleteMember(id: $id) }", &member_id),
            (
                "mutation($id: ID!) { updateMatchRule(id: $id, rule: { name: \"x\", clauses: [{ listingField: \"price\", operator: AT_MOST, value: 1 }] }) { id } }",
                &rule_id,
            ),
            ("mutation($id: ID!) { deleteMatchRule(id: $id) }", &rule_id),
            (
                "query($id: ID!) { previewMailTemplate(kind: LISTING, locale: JA, subject: \"s\", html: \"h\", text: \"t\", listingId: $id) { subject } }",
                &listing_id,
            ),
        ];
        for (query, id) in not_found {
            let body = app.graphql(Some(caller), query, json!({ "id": id })).await;
            assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
        }
    }
    for caller in [&second, &second_key] {
        // Writes of the second tenant change only the second tenant.
        let writes = app.graphql(Some(caller),
            "mutation { setNotifyOnChange(enabled: true) { slug } resetMailTemplate(kind: LISTING, locale: JA) { customized } saveMailTemplate(kind: DIGEST, locale: EN, subject: \"s\", html: \"h\", text: \"t\") { customized } importMembers(csv: \"email\\nsecret@example.jp\\n\") { created } createMember(member: { email: \"own@example.jp\" }) { id } }",
            json!({}),
        ).await;
        assert_eq!(
            writes["data"]["setNotifyOnChange"]["slug"], "ichou",
            "{writes}"
        );
        let rule = app.graphql(Some(caller),
            "mutation { createMatchRule(rule: { name: \"own\", clauses: [{ listingField: \"price\", operator: AT_MOST, value: 1 }] }) { id } }",
            json!({}),
        ).await;
        assert!(rule["errors"].is_null(), "{rule}");
        app.graphql(Some(caller), set_profile, json!({ "fields": [] }))
            .await;
        app.graphql(
            Some(caller),
            "mutation { deleteMember(id: \"00000000-0000-0000-0000-000000000000\") }",
            json!({}),
        )
        .await;
    }

    let mine = app.graphql(Some(&first),
        "{ tenant { notifyOnChange } members { totalCount nodes { email } } profileFields { name } matchRules { name } deliveries { totalCount } mailTemplates { kind locale subject customized } }",
        json!({}),
    ).await;
    assert_eq!(mine["data"]["tenant"]["notifyOnChange"], false, "{mine}");
    assert_eq!(mine["data"]["members"]["totalCount"], 1, "{mine}");
    assert_eq!(
        mine["data"]["members"]["nodes"][0]["email"],
        "secret@example.jp"
    );
    assert_eq!(mine["data"]["profileFields"][0]["name"], "max_price");
    assert_eq!(mine["data"]["matchRules"], json!([{ "name": "上限" }]));
    assert_eq!(mine["data"]["deliveries"]["totalCount"], 1);
    let templates = mine["data"]["mailTemplates"].as_array().unwrap();
    let listing_ja = templates
        .iter()
        .find(|t| t["kind"] == "LISTING" && t["locale"] == "JA")
        .unwrap();
    assert_eq!(listing_ja["subject"], "秘密");
    assert!(
        templates.iter().filter(|t| t["customized"] == true).count() == 1,
        "{mine}"
    );
    app.stop().await;
}
on_both_databases!(second_tenant_cannot_reach_first_tenants_mail);

/// Senders, DKIM keys and the suppression list of one tenant are out of reach of another
/// tenant's operator, and API keys cannot manage sending at all.
async fn second_tenant_cannot_reach_first_tenants_senders(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let first = app.sign_up("tsubaki").await;
    let second = app.sign_up("momiji").await;
    let input = json!({
        "name": "秘密のサーバー", "fromAddress": "info@example.jp",
        "smtp": { "host": "127.0.0.1", "port": 1, "tls": "STARTTLS", "username": "u", "password": "secret-password" },
    });
    let created = app
        .graphql(
            Some(&first),
            "mutation($input: SenderInput!) { createSender(input: $input, verify: false) { id } }",
            json!({ "input": input }),
        )
        .await;
    let sender_id = created["data"]["createSender"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    app.graphql(
        Some(&first),
        "mutation { addSuppression(address: \"secret@example.jp\") generateDkimKey(domain: \"example.jp\", algorithm: ED25519) { selector } }",
        json!({}),
    )
    .await;

    let reads = app
        .graphql(
            Some(&second),
            "{ senders { id } suppressions { address } dkimKeys { domain } rateLimitPresets { id } }",
            json!({}),
        )
        .await;
    assert_eq!(reads["data"]["senders"], json!([]), "{reads}");
    assert_eq!(reads["data"]["suppressions"], json!([]), "{reads}");
    assert_eq!(reads["data"]["dkimKeys"], json!([]), "{reads}");
    assert!(
        !reads["data"]["rateLimitPresets"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let by_id = [
        "mutation($id: ID!, $input: SenderInput!) { updateSender(id: $id, input: $input, verify: false) { id } }",
        "mutation($id: ID!) { deleteSender(id: $id) }",
        "mutation($id: ID!) { activateSender(id: $id) { id } }",
        "mutation($id: ID!) { checkSender(id: $id) { ok } }",
        "mutation($id: ID!) { sendTestMail(id: $id, to: \"x@example.jp\") { ok } }",
    ];
    for query in by_id {
        let body = app
            .graphql(
                Some(&second),
                query,
                json!({ "id": sender_id, "input": input }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let body = app
        .graphql(
            Some(&second),
            "mutation { removeSuppression(address: \"secret@example.jp\") deleteDkimKey(domain: \"example.jp\") addSuppression(address: \"own@example.jp\") generateDkimKey(domain: \"example.jp\", algorithm: ED25519) { domain } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["removeSuppression"], false, "{body}");
    assert_eq!(body["data"]["deleteDkimKey"], false, "{body}");

    let key = app
        .create_api_key(&second, &["MEMBERS_WRITE", "DELIVERIES_READ"])
        .await;
    let body = app
        .graphql(
            Some(&key),
            "mutation($input: SenderInput!) { createSender(input: $input, verify: false) { id } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    let mine = app
        .graphql(
            Some(&first),
            "{ senders { id name } suppressions { address } dkimKeys { domain } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["senders"][0]["name"], "秘密のサーバー");
    assert_eq!(
        mine["data"]["suppressions"],
        json!([{ "address": "secret@example.jp" }])
    );
    assert_eq!(
        mine["data"]["dkimKeys"],
        json!([{ "domain": "example.jp" }])
    );
    let body = app
        .graphql(Some(&first), "{ senders { smtp { username } } }", json!({}))
        .await;
    assert!(
        !body.to_string().contains("secret-password"),
        "credentials are never returned"
    );
    app.stop().await;
}
on_both_databases!(second_tenant_cannot_reach_first_tenants_senders);

/// Sequences, steps and enrollments of one tenant are out of reach of another tenant, whose
/// own time zone setting changes nothing for the first.
async fn second_tenant_cannot_reach_first_tenants_step_mail(database: Database) {
    let app = spawn_app(database, Queue::Embedded).await;
    let first = app.sign_up("kaede").await;
    let second = app.sign_up("momiji").await;
    let sequence = json!({ "name": "秘密のステップ" });
    let step = json!({ "timing": "AFTER_PREVIOUS", "delayMinutes": 10, "subject": "s", "text": "t {{ unsubscribe_url }}" });
    let created = app
        .graphql(
            Some(&first),
            "mutation($input: SequenceInput!) { createSequence(input: $input) { id } }",
            json!({ "input": sequence }),
        )
        .await;
    let sequence_id = created["data"]["createSequence"]["id"].clone();
    let added = app
        .graphql(
            Some(&first),
            "mutation($id: ID!, $input: StepInput!) { addStep(sequenceId: $id, input: $input) { id } }",
            json!({ "id": sequence_id, "input": step }),
        )
        .await;
    let step_id = added["data"]["addStep"]["id"].clone();
    let member = app
        .graphql(
            Some(&first),
            "mutation { createMember(member: { email: \"own@example.jp\" }) { id } }",
            json!({}),
        )
        .await;
    let member_id = member["data"]["createMember"]["id"].clone();
    assert!(
        !step_id.is_null() && !member_id.is_null(),
        "{added} {member}"
    );

    let reads = app
        .graphql(
            Some(&second),
            "{ sequences { id } exportMembers }",
            json!({}),
        )
        .await;
    assert_eq!(reads["data"]["sequences"], json!([]), "{reads}");
    let export = reads["data"]["exportMembers"].as_str().unwrap();
    assert_eq!(export.lines().count(), 1, "only the header: {export}");
    let by_id = [
        ("query($id: ID!) { sequence(id: $id) { id } }", &sequence_id),
        (
            "mutation($id: ID!, $input: SequenceInput!) { updateSequence(id: $id, input: $input) { id } }",
            &sequence_id,
        ),
        (
            "mutation($id: ID!) { deleteSequence(id: $id) }",
            &sequence_id,
        ),
        (
            "mutation($id: ID!, $step: StepInput!) { addStep(sequenceId: $id, input: $step) { id } }",
            &sequence_id,
        ),
        (
            "mutation($id: ID!, $step: StepInput!) { updateStep(id: $id, input: $step) { id } }",
            &step_id,
        ),
        ("mutation($id: ID!) { moveStep(id: $id) { id } }", &step_id),
        ("mutation($id: ID!) { removeStep(id: $id) }", &step_id),
        (
            "mutation($id: ID!) { backfillStep(id: $id, apply: true) }",
            &step_id,
        ),
        (
            "mutation($id: ID!) { recordMemberEvent(memberId: $id, event: \"signup\") { enrolled } }",
            &member_id,
        ),
    ];
    for (query, id) in by_id {
        let body = app
            .graphql(
                Some(&second),
                query,
                json!({ "id": id, "input": sequence, "step": step }),
            )
            .await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body}");
    }
    let body = app
        .graphql(
            Some(&second),
            "mutation { setTimeZone(name: \"America/New_York\") { timeZone } setNonstandardAddresses(accept: true) { acceptsNonstandardAddresses } setBrandColors(brandColor: \"#ff0000\") { brandColor } removeLogo { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["setTimeZone"]["timeZone"], "America/New_York",
        "{body}"
    );

    let logo = app
        .graphql(
            Some(&second),
            "mutation($image: String!) { setLogo(image: $image) { slug } }",
            json!({ "image": "R0lGODlhAQABAAAAACw=" }),
        )
        .await;
    assert!(logo["errors"].is_null(), "{logo}");

    let mine = app
        .graphql(
            Some(&first),
            "{ tenant { timeZone acceptsNonstandardAddresses brandColor logoUrl } sequences { name steps { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["data"]["tenant"]["timeZone"], "Asia/Tokyo", "{mine}");
    assert_eq!(
        mine["data"]["tenant"]["acceptsNonstandardAddresses"], false,
        "{mine}"
    );
    assert_eq!(mine["data"]["tenant"]["brandColor"], Value::Null, "{mine}");
    assert_eq!(mine["data"]["tenant"]["logoUrl"], Value::Null, "{mine}");
    assert_eq!(mine["data"]["sequences"][0]["name"], "秘密のステップ");
    assert_eq!(mine["data"]["sequences"][0]["steps"][0]["id"], step_id);
    app.stop().await;
}
on_both_databases!(second_tenant_cannot_reach_first_tenants_step_mail);

#[tokio::test]
async fn every_root_field_is_covered_by_isolation_test() {
    let sdl = server::graphql::sdl();
    let mut fields = BTreeSet::new();
    let mut in_root = false;
    let mut in_description = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
            continue;
        }
        if in_description || trimmed.starts_with('"') {
            continue;
        }
        if trimmed.starts_with("type Query ") || trimmed.starts_with("type Mutation ") {
            in_root = true;
        } else if trimmed.starts_with('}') {
            in_root = false;
        } else if in_root && line.starts_with('\t') && !line.starts_with("\t\t") {
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if !name.is_empty() {
                fields.insert(name);
            }
        }
    }
    assert!(
        fields.contains("listings"),
        "root fields were not found in the SDL"
    );
    let missing: Vec<_> = fields
        .iter()
        .filter(|f| !COVERED_FIELDS.contains(&f.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "root fields without an isolation check: {missing:?}"
    );
}
