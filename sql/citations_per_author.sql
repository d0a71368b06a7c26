-- grain: one row per watched author and citation source (openalex, semantic_scholar, best = max of the two per paper)
with watched as (
    select author_id, display_name from main.authors where is_watched
),

author_papers as (
    select distinct authorships.author_id, authorships.paper_id
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
),

per_source as (
    select author_papers.author_id, author_papers.paper_id, c.source, c.cited_by_count
    from author_papers
    inner join main.paper_citations as c on c.paper_id = author_papers.paper_id
),

best as (
    -- every paper of the author counts here; a paper no source counts citations for has 0
    select
        author_papers.author_id,
        author_papers.paper_id,
        'best' as source,
        coalesce(max(c.cited_by_count), 0) as cited_by_count
    from author_papers
    left join main.paper_citations as c on c.paper_id = author_papers.paper_id
    group by author_papers.author_id, author_papers.paper_id
),

ranked as (
    select
        *,
        row_number() over by_count as rank_by_citations,
        sum(cited_by_count) over (by_count rows between unbounded preceding and current row) as cumulative_citations
    from (select * from per_source union all select * from best)
    window by_count as (partition by author_id, source order by cited_by_count desc, paper_id)
),

indices as (
    select
        author_id,
        source,
        count(*) as works,
        cast(sum(cited_by_count) as bigint) as citations,
        coalesce(max(rank_by_citations) filter (where cited_by_count >= rank_by_citations), 0) as h_index,
        coalesce(max(rank_by_citations) filter (where cumulative_citations >= rank_by_citations * rank_by_citations), 0) as g_index,
        count(*) filter (where cited_by_count >= 10) as i10_index
    from ranked
    group by author_id, source
),

sources as (
    select * from (values ('openalex'), ('semantic_scholar'), ('best')) as s(source)
),

reported as (
    select author_id, source, max(h_index) as source_reported_h_index
    from main.author_profiles
    group by author_id, source
),

final as (
    select
        watched.author_id,
        watched.display_name,
        sources.source,
        coalesce(indices.works, 0) as works,
        coalesce(indices.citations, 0) as citations,
        case when indices.works > 0 then round(indices.citations / indices.works, 2) end as citations_per_work,
        coalesce(indices.h_index, 0) as h_index,
        coalesce(indices.g_index, 0) as g_index,
        coalesce(indices.i10_index, 0) as i10_index,
        reported.source_reported_h_index
    from watched
    cross join sources
    left join indices on indices.author_id = watched.author_id and indices.source = sources.source
    left join reported on reported.author_id = watched.author_id and reported.source = sources.source
    order by watched.author_id, sources.source
)

select * from final
