-- grain: one row per run, watched author and source (openalex, semantic_scholar, best): works, citations, h, g and i10 as the warehouse knew them when that run finished (citation snapshots up to then; today's authorships and precedence rule), so `where as_of_run_id = …` answers "as of date D"
with watched as (
    select author_id, display_name from main.authors where is_watched
),

run_ends as (
    select run_id as as_of_run_id, finished_at as as_of_at from main.runs where status <> 'failed'
),

snaps as (
    select x.paper_id, s.source, s.observed_at, max(s.cited_by_count) as citations
    from main.citation_snapshots as s
    inner join main.work_xref as x on x.source = s.source and x.source_work_id = s.source_work_id
    where s.cited_by_count is not null
    group by x.paper_id, s.source, s.observed_at
),

known as (
    -- per run, each paper and source: the newest count observed by the end of that run
    select run_ends.as_of_run_id, run_ends.as_of_at, snaps.paper_id, snaps.source, arg_max(snaps.citations, snaps.observed_at) as citations
    from run_ends
    inner join snaps on snaps.observed_at <= run_ends.as_of_at
    group by all
),

precedence as (
    select source, precedence from metrics.citation_source_precedence
),

author_papers as (
    -- today's credited, non-retracted works, each known from the end of the run that first loaded it
    select distinct authorships.author_id, authorships.paper_id, coalesce(first_run.finished_at, '-infinity'::timestamptz) as known_at
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
    inner join metrics.paper_best_citations as b on b.paper_id = authorships.paper_id and b.counts_in_indices
    inner join main.papers on papers.paper_id = authorships.paper_id
    left join main.runs as first_run on first_run.run_id = papers.first_run_id
),

held as (
    select run_ends.as_of_run_id, run_ends.as_of_at, author_papers.author_id, author_papers.paper_id
    from run_ends
    inner join author_papers on author_papers.known_at <= run_ends.as_of_at
),

per_source as (
    select held.as_of_run_id, held.as_of_at, held.author_id, held.paper_id, known.source, known.citations
    from held
    inner join known on known.as_of_run_id = held.as_of_run_id and known.paper_id = held.paper_id
    where known.source in ('openalex', 'semantic_scholar')
),

best as (
    -- every work held by then; one no source had counted yet has 0 (as in citations_per_author)
    select held.as_of_run_id, held.as_of_at, held.author_id, held.paper_id, 'best' as source,
        coalesce(arg_min(known.citations, precedence.precedence), 0) as citations
    from held
    left join known on known.as_of_run_id = held.as_of_run_id and known.paper_id = held.paper_id
    left join precedence on precedence.source = known.source
    group by all
),

ranked as (
    select
        *,
        row_number() over by_count as rank_by_citations,
        sum(citations) over (by_count rows between unbounded preceding and current row) as cumulative
    from (select * from per_source union all select * from best)
    window by_count as (partition by as_of_run_id, author_id, source order by citations desc, paper_id)
),

final as (
    select
        ranked.as_of_run_id,
        ranked.as_of_at,
        ranked.author_id,
        watched.display_name,
        ranked.source,
        count(*) as works,
        cast(sum(ranked.citations) as bigint) as citations,
        coalesce(max(rank_by_citations) filter (where citations >= rank_by_citations), 0) as h_index,
        coalesce(max(rank_by_citations) filter (where cumulative >= rank_by_citations * rank_by_citations), 0) as g_index,
        count(*) filter (where citations >= 10) as i10_index
    from ranked
    inner join watched on watched.author_id = ranked.author_id
    group by all
    order by ranked.as_of_at, ranked.author_id, ranked.source
)

select * from final
