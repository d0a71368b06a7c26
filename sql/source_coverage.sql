-- grain: one row per source: how many records it gave, how many papers they are, and how many only it knows
with xref as (
    select * from main.work_xref
),

paper_sources as (
    select paper_id, count(distinct source) as n_sources
    from xref
    group by paper_id
),

final as (
    select
        xref.source,
        count(*) as records,
        count(distinct xref.paper_id) as papers,
        count(distinct xref.paper_id) filter (where paper_sources.n_sources = 1) as papers_only_in_source,
        round(100.0 * count(distinct xref.paper_id) / (select count(*) from main.papers), 1) as pct_of_all_papers,
        count(*) filter (where xref.doi is not null) as records_with_doi,
        count(*) filter (where xref.arxiv_id is not null) as records_with_arxiv_id,
        cast(sum(xref.cited_by_count) as bigint) as citations_sum,
        max(xref._fetched_at) as last_changed_at
    from xref
    inner join paper_sources on paper_sources.paper_id = xref.paper_id
    group by xref.source
    order by xref.source
)

select * from final
