//! Members and their profiles, one by one or by CSV.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::{
    MemberId, Permission, Problem, ValidationError,
    members::{self, Frequency, MemberInput as DomainMemberInput, MemberStatus, import},
};
use serde_json::Value;

use super::{
    context::ContextExt,
    error::{ApiResult, ResultExt},
    listings::ListingError,
    tenant::Locale,
};

/// How often a member receives matching mail.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "MailFrequency")]
pub enum MailFrequency {
    /// One mail per matching listing, as soon as it is matched.
    Instant,
    /// One digest a day at `digestHour`, tenant-local time.
    Daily,
    /// One digest a week on `digestWeekday` at `digestHour`.
    Weekly,
}

impl From<Frequency> for MailFrequency {
    fn from(value: Frequency) -> Self {
        match value {
            Frequency::Instant => MailFrequency::Instant,
            Frequency::Daily => MailFrequency::Daily,
            Frequency::Weekly => MailFrequency::Weekly,
        }
    }
}

impl From<MailFrequency> for Frequency {
    fn from(value: MailFrequency) -> Self {
        match value {
            MailFrequency::Instant => Frequency::Instant,
            MailFrequency::Daily => Frequency::Daily,
            MailFrequency::Weekly => Frequency::Weekly,
        }
    }
}

/// A member of the tenant.
#[derive(SimpleObject)]
pub struct Member {
    /// Tayori's id of the member.
    pub id: ID,
    /// The member's email address.
    pub email: String,
    /// The language of the member's mails.
    pub locale: Locale,
    /// How often the member receives matching mail.
    pub frequency: MailFrequency,
    /// Local hour (0-23) of digests.
    pub digest_hour: u8,
    /// Weekday of weekly digests, 0 = Monday.
    pub digest_weekday: u8,
    /// `false` once the member unsubscribed, and while a sign-up waits for its confirmation;
    /// such members get no mail.
    pub subscribed: bool,
    /// Whether the member signed up on the member pages and has not opened the confirmation
    /// link yet (仮登録). Such a member cannot be subscribed by an operator.
    pub pending_confirmation: bool,
    /// The member's conditions, keyed by profile field name, as normalised when stored.
    pub profile: Json<Value>,
    /// When the next digest is due, for daily and weekly members.
    pub next_digest_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<members::Member> for Member {
    fn from(member: members::Member) -> Self {
        Self {
            id: ID(member.id.to_string()),
            email: member.email,
            locale: member.locale.into(),
            frequency: member.frequency.into(),
            digest_hour: member.digest_hour,
            digest_weekday: member.digest_weekday,
            subscribed: member.status == MemberStatus::Active,
            pending_confirmation: member.status == MemberStatus::Pending,
            profile: Json(Value::Object(member.profile)),
            next_digest_at: member.next_digest_at,
            created_at: member.created_at,
            updated_at: member.updated_at,
        }
    }
}

/// A member to create, or the new state of one.
#[derive(InputObject)]
pub struct MemberInput {
    /// The member's email address.
    pub email: String,
    /// Defaults to the tenant's language.
    pub locale: Option<Locale>,
    /// Defaults to `INSTANT`.
    pub frequency: Option<MailFrequency>,
    /// 0 to 23; defaults to 9.
    pub digest_hour: Option<i64>,
    /// 0 (Monday) to 6 (Sunday); defaults to 0.
    pub digest_weekday: Option<i64>,
    /// A JSON object keyed by profile field name. Choice fields take several options (an
    /// array, or text separated by `|`, `,` or `、`); number fields take a number or a range
    /// (`8万～10万`); geo point fields take `{"lat", "lon", "radiusKm"}`.
    #[graphql(default_with = "Json(Value::Object(Default::default()))")]
    pub profile: Json<Value>,
}

impl MemberInput {
    fn into_domain(self) -> Result<DomainMemberInput, domain::Error> {
        let profile = match self.profile.0 {
            Value::Object(profile) => profile,
            Value::Null => Default::default(),
            other => {
                return Err(ValidationError::new(
                    "profile",
                    Some(&other.to_string()),
                    Problem::NotAnObject,
                )
                .into());
            }
        };
        Ok(DomainMemberInput {
            email: self.email,
            locale: self.locale.map(Into::into),
            frequency: self.frequency.map(Into::into),
            digest_hour: self.digest_hour,
            digest_weekday: self.digest_weekday,
            profile,
        })
    }
}

/// One page of members, newest first.
#[derive(SimpleObject)]
pub struct MemberConnection {
    /// The items of this page.
    pub nodes: Vec<Member>,
    /// Members matching the search, across all pages.
    pub total_count: u64,
    /// Pass as `after` to get the next page.
    pub end_cursor: Option<String>,
    /// Whether another page follows.
    pub has_next_page: bool,
}

/// The outcome of a CSV import of members.
#[derive(SimpleObject)]
pub struct ImportMembersResult {
    /// Addresses not registered before.
    pub created: u64,
    /// Registered members whose settings and profile were replaced.
    pub updated: u64,
    /// Rows rejected; see `errors`.
    pub rejected: u64,
    /// The problems of rejected rows. `index` is the row number as a spreadsheet shows it (the
    /// header is row 1); `externalId` is the row's address.
    pub errors: Vec<ListingError>,
}

/// Parses an id argument; `after` is a page cursor and gets the cursor's message.
pub(super) fn parse_id(field: &str, text: &str) -> Result<uuid::Uuid, domain::Error> {
    let problem = if field == "after" {
        Problem::InvalidCursor
    } else {
        Problem::InvalidId
    };
    uuid::Uuid::parse_str(text).map_err(|_| ValidationError::new(field, Some(text), problem).into())
}

#[derive(Default)]
pub struct MemberQuery;

#[Object]
impl MemberQuery {
    /// Every member as CSV in the format `importMembers` reads: `email`, `status`, `locale`,
    /// `frequency`, `digest_hour`, `digest_weekday` and one column per profile field.
    async fn export_members(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let tenant_id = ctx.authorize(Permission::ReadMembers)?;
        members::export::export_csv(&ctx.state().db, tenant_id)
            .await
            .api(ctx)
    }

    /// Members, newest first. `search` matches part of the address.
    #[graphql(complexity = "first.clamp(1, 200) as usize * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, desc = "Page size, 1 to 200.")] first: u64,
        #[graphql(desc = "The `endCursor` of the previous page.")] after: Option<String>,
        #[graphql(desc = "Only members whose address contains this text.")] search: Option<String>,
    ) -> ApiResult<MemberConnection> {
        let tenant_id = ctx.authorize(Permission::ReadMembers)?;
        let after = after
            .map(|cursor| parse_id("after", &cursor).map(MemberId))
            .transpose()
            .api(ctx)?;
        let page = members::list(&ctx.state().db, tenant_id, first, after, search.as_deref())
            .await
            .api(ctx)?;
        let end_cursor = page.nodes.last().map(|m| m.id.to_string());
        Ok(MemberConnection {
            nodes: page.nodes.into_iter().map(Member::from).collect(),
            total_count: page.total_count,
            end_cursor,
            has_next_page: page.has_next_page,
        })
    }

    /// Loads one member by id.
    async fn member(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Member> {
        let tenant_id = ctx.authorize(Permission::ReadMembers)?;
        let member_id = parse_id("id", &id).map(MemberId).api(ctx)?;
        Ok(members::get(&ctx.state().db, tenant_id, member_id)
            .await
            .api(ctx)?
            .into())
    }
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Adds a member. Listings stored from now on are matched against their profile.
    async fn create_member(&self, ctx: &Context<'_>, member: MemberInput) -> ApiResult<Member> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let input = member.into_domain().api(ctx)?;
        Ok(members::create(&ctx.state().db, tenant_id, input)
            .await
            .api(ctx)?
            .into())
    }

    /// Replaces a member's address, settings and profile.
    async fn update_member(
        &self,
        ctx: &Context<'_>,
        id: ID,
        member: MemberInput,
    ) -> ApiResult<Member> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let member_id = parse_id("id", &id).map(MemberId).api(ctx)?;
        let input = member.into_domain().api(ctx)?;
        Ok(
            members::update(&ctx.state().db, tenant_id, member_id, input)
                .await
                .api(ctx)?
                .into(),
        )
    }

    /// Stops or resumes all mail to a member.
    async fn set_member_subscribed(
        &self,
        ctx: &Context<'_>,
        id: ID,
        subscribed: bool,
    ) -> ApiResult<Member> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let member_id = parse_id("id", &id).map(MemberId).api(ctx)?;
        let status = if subscribed {
            MemberStatus::Active
        } else {
            MemberStatus::Unsubscribed
        };
        Ok(
            members::set_status(&ctx.state().db, tenant_id, member_id, status)
                .await
                .api(ctx)?
                .into(),
        )
    }

    /// Deletes a member and their matches. Returns the id.
    async fn delete_member(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let member_id = parse_id("id", &id).map(MemberId).api(ctx)?;
        members::delete(&ctx.state().db, tenant_id, member_id)
            .await
            .api(ctx)?;
        Ok(id)
    }

    /// Creates or updates members from CSV text, keyed by address. Columns: `email`, optional
    /// `locale`, `frequency`, `digest_hour`, `digest_weekday`, and one column per profile field
    /// (its name or label). Valid rows are stored even when others are rejected.
    async fn import_members(
        &self,
        ctx: &Context<'_>,
        csv: String,
    ) -> ApiResult<ImportMembersResult> {
        let tenant_id = ctx.authorize(Permission::WriteMembers)?;
        let locale = ctx.request().locale;
        let report = import::import_csv(&ctx.state().db, tenant_id, &csv)
            .await
            .api(ctx)?;
        Ok(ImportMembersResult {
            created: report.created as u64,
            updated: report.updated as u64,
            rejected: report.rejected as u64,
            errors: report
                .errors
                .iter()
                .map(|e| ListingError {
                    index: e.index as u64,
                    external_id: e.external_id.clone(),
                    field: e.error.field.clone(),
                    value: e.error.value.clone(),
                    code: e.error.problem_code().to_owned(),
                    message: e.error.message(locale),
                })
                .collect(),
        })
    }
}
