//! The committed SDL must match the schema, so API changes are reviewed on purpose.
//! Run `UPDATE_SCHEMA=1 cargo test -p server --test api schema_sdl` to rewrite it.

#[test]
fn committed_sdl_matches_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let current = server::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "server/schema.graphql is out of date; rerun with UPDATE_SCHEMA=1 and review the diff"
    );
}

#[test]
fn every_type_and_field_has_a_description() {
    let sdl = server::graphql::sdl();
    let mut undocumented = Vec::new();
    let mut in_description = false;
    let mut documented = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed == "\"\"\"" {
            in_description = !in_description;
            documented = !in_description;
            continue;
        }
        if in_description {
            continue;
        }
        if trimmed.starts_with('"') && trimmed.ends_with('"') && trimmed.len() > 1 {
            documented = true;
            continue;
        }
        let is_declaration = ["type ", "enum ", "input ", "scalar "]
            .iter()
            .any(|k| trimmed.starts_with(k));
        let is_root = trimmed.starts_with("type Query ") || trimmed.starts_with("type Mutation ");
        let in_schema_block = trimmed.starts_with("query:") || trimmed.starts_with("mutation:");
        let is_member = line.starts_with('\t')
            && !line.starts_with("\t\t")
            && !trimmed.is_empty()
            && !trimmed.starts_with(')')
            && !in_schema_block;
        if (is_declaration && !is_root || is_member) && !documented {
            undocumented.push(trimmed.to_owned());
        }
        documented = false;
    }
    assert!(
        undocumented.is_empty(),
        "undocumented in SDL: {undocumented:#?}"
    );
}
