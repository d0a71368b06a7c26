-- grain: one row per level (work, researcher, watched topic), entity, citation source (each source and best) and window (30, 90, 365 days): citations gained between two snapshots, with the snapshot dates they rest on; a drop or a silent source is flagged, never counted as negative
with snaps as (
    -- each snapshot under the paper id its record has today (papers merge and split)
    select x.paper_id, s.source, s.observed_at, max(s.cited_by_count) as citations
    from main.citation_snapshots as s
    inner join main.work_xref as x on x.source = s.source and x.source_work_id = s.source_work_id
    where s.cited_by_count is not null
    group by x.paper_id, s.source, s.observed_at
),

stepped as (
    select *, citations < lag(citations) over (partition by paper_id, source order by observed_at) as dropped
    from snaps
),

source_last as (
    select source, max(observed_at) as source_last_at from snaps group by source
),

latest as (
    select paper_id, source, arg_max(citations, observed_at) as citations_now, max(observed_at) as now_at
    from snaps
    group by paper_id, source
),

windows as (
    select * from (values (30), (90), (365)) as w(window_days)
),

cutoffs as (
    -- per snapshot time and window, the newest snapshot the window may start from (computed
    -- per distinct time: timestamptz arithmetic goes through ICU and is slow per row)
    select nows.now_at, windows.window_days, nows.now_at - to_days(windows.window_days) as cutoff_at
    from (select distinct now_at from latest) as nows
    cross join windows
),

based as (
    -- the newest snapshot at least `window_days` before the latest; without one, the oldest
    -- (the window is then not complete: less history than asked)
    select
        latest.paper_id,
        latest.source,
        cutoffs.window_days,
        any_value(latest.citations_now) as citations_now,
        any_value(latest.now_at) as now_at,
        coalesce(max(snaps.observed_at) filter (where snaps.observed_at <= cutoffs.cutoff_at), min(snaps.observed_at)) as base_at,
        bool_or(snaps.observed_at <= cutoffs.cutoff_at) as window_complete
    from latest
    inner join cutoffs on cutoffs.now_at = latest.now_at
    inner join snaps on snaps.paper_id = latest.paper_id and snaps.source = latest.source
    group by latest.paper_id, latest.source, cutoffs.window_days
),

last_drop as (
    -- the last snapshot whose count fell below the one before
    select paper_id, source, max(observed_at) filter (where dropped) as last_drop_at
    from stepped
    group by paper_id, source
),

silence as (
    -- the source still reports other works but has not reported this one for 30 days
    select nows.source, nows.now_at, source_last.source_last_at - nows.now_at > interval 30 day as source_silent
    from (select distinct source, now_at from latest) as nows
    inner join source_last on source_last.source = nows.source
),

per_work_source as (
    select
        based.*,
        base.citations as citations_base,
        coalesce(last_drop.last_drop_at > based.base_at, false) as count_dropped,
        silence.source_silent
    from based
    inner join snaps as base on base.paper_id = based.paper_id and base.source = based.source and base.observed_at = based.base_at
    inner join silence on silence.source = based.source and silence.now_at = based.now_at
    inner join last_drop on last_drop.paper_id = based.paper_id and last_drop.source = based.source
),

per_work as (
    select * from per_work_source
    union all
    -- "best": each paper's row from the source metrics.paper_best_citations picks
    select p.paper_id, 'best' as source, p.window_days, p.citations_now, p.now_at, p.base_at, p.window_complete, p.citations_base, p.count_dropped, p.source_silent
    from per_work_source as p
    inner join metrics.paper_best_citations as b on b.paper_id = p.paper_id and b.best_source = p.source
),

gains as (
    select *, case when count_dropped or citations_now < citations_base then 0 else citations_now - citations_base end as gained
    from per_work
),

work_rows as (
    select
        'work' as level, gains.paper_id as entity_id, papers.title as entity_name, gains.source, gains.window_days,
        cast(1 as bigint) as works, cast(gains.citations_base as bigint) as citations_base, cast(gains.citations_now as bigint) as citations_now,
        cast(gains.gained as bigint) as citations_gained, gains.base_at, gains.now_at, gains.window_complete,
        cast(gains.count_dropped as bigint) as works_with_drop, cast(gains.source_silent as bigint) as works_silent
    from gains
    inner join main.papers on papers.paper_id = gains.paper_id
),

researcher_rows as (
    select
        'researcher' as level, a.author_id as entity_id, any_value(authors.display_name) as entity_name, gains.source, gains.window_days,
        count(*) as works, cast(sum(gains.citations_base) as bigint) as citations_base, cast(sum(gains.citations_now) as bigint) as citations_now,
        cast(sum(gains.gained) as bigint) as citations_gained, min(gains.base_at) as base_at, max(gains.now_at) as now_at, bool_and(gains.window_complete) as window_complete,
        count(*) filter (where gains.count_dropped) as works_with_drop, count(*) filter (where gains.source_silent) as works_silent
    from gains
    inner join (select distinct author_id, paper_id from main.authorships where is_watched) as a on a.paper_id = gains.paper_id
    inner join main.authors on authors.author_id = a.author_id
    inner join metrics.paper_best_citations as b on b.paper_id = gains.paper_id and b.counts_in_indices
    group by a.author_id, gains.source, gains.window_days
),

topic_rows as (
    select
        'topic' as level, t.topic_id as entity_id, any_value(t.topic_name) as entity_name, gains.source, gains.window_days,
        count(*) as works, cast(sum(gains.citations_base) as bigint) as citations_base, cast(sum(gains.citations_now) as bigint) as citations_now,
        cast(sum(gains.gained) as bigint) as citations_gained, min(gains.base_at) as base_at, max(gains.now_at) as now_at, bool_and(gains.window_complete) as window_complete,
        count(*) filter (where gains.count_dropped) as works_with_drop, count(*) filter (where gains.source_silent) as works_silent
    from gains
    inner join (select distinct topic_id, topic_name, paper_id from main.paper_topics where topic_kind = 'watchlist') as t on t.paper_id = gains.paper_id
    group by t.topic_id, gains.source, gains.window_days
),

all_levels as (
    select * from work_rows
    union all
    select * from researcher_rows
    union all
    select * from topic_rows
),

final as (
    select
        level, entity_id, entity_name, source, window_days, works, citations_base, citations_now, citations_gained,
        base_at, now_at, window_complete, works_with_drop, works_silent
    from all_levels
    order by level, entity_id, source, window_days
)

select * from final
