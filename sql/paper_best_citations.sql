-- grain: one row per canonical paper: its citation count by the one precedence rule of metrics.citation_source_precedence ("best"), the source it came from, and whether indices count it (retracted works do not)
with precedence as (
    select source, precedence from metrics.citation_source_precedence
),

counted as (
    select c.paper_id, c.source, c.cited_by_count, precedence.precedence
    from main.paper_citations as c
    inner join precedence on precedence.source = c.source
    where c.cited_by_count is not null
),

ranked as (
    select
        *,
        row_number() over (partition by paper_id order by precedence) as pick,
        count(*) over (partition by paper_id) as n_sources
    from counted
),

final as (
    select
        papers.paper_id,
        cast(coalesce(ranked.cited_by_count, 0) as bigint) as best_citations,
        ranked.source as best_source,
        cast(coalesce(ranked.n_sources, 0) as integer) as n_counting_sources,
        coalesce(papers.is_retracted, false) as is_retracted,
        not coalesce(papers.is_retracted, false) as counts_in_indices
    from main.papers
    left join ranked on ranked.paper_id = papers.paper_id and ranked.pick = 1
    order by papers.paper_id
)

select * from final
