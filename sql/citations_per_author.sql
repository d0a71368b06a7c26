-- grain: one row per watched author and citation source (openalex, semantic_scholar, best = metrics.paper_best_citations' precedence rule); retracted works are left out of every figure and counted apart
with watched as (
    select author_id, display_name from main.authors where is_watched
),

author_papers as (
    select distinct authorships.author_id, authorships.paper_id, papers.year, best.counts_in_indices
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
    inner join main.papers on papers.paper_id = authorships.paper_id
    inner join metrics.paper_best_citations as best on best.paper_id = authorships.paper_id
),

per_source as (
    select author_papers.author_id, author_papers.paper_id, author_papers.year, c.source, c.cited_by_count
    from author_papers
    inner join main.paper_citations as c on c.paper_id = author_papers.paper_id
    where author_papers.counts_in_indices and c.source in ('openalex', 'semantic_scholar')
),

best as (
    -- every counted paper of the author is here; a paper no source counts citations for has 0
    select author_papers.author_id, author_papers.paper_id, author_papers.year, 'best' as source, b.best_citations as cited_by_count
    from author_papers
    inner join metrics.paper_best_citations as b on b.paper_id = author_papers.paper_id
    where author_papers.counts_in_indices
),

ranked as (
    select
        *,
        row_number() over by_count as rank_by_citations,
        sum(cited_by_count) over (by_count rows between unbounded preceding and current row) as cumulative_citations,
        -- h5 / i10 over the last 5 calendar years: works published in them, ranked on their own
        case when year >= extract(year from current_date) - 4 then
            row_number() over (partition by author_id, source, year >= extract(year from current_date) - 4 order by cited_by_count desc, paper_id)
        end as rank_recent
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
        count(*) filter (where cited_by_count >= 10) as i10_index,
        coalesce(max(rank_recent) filter (where cited_by_count >= rank_recent), 0) as h5_index,
        count(*) filter (where rank_recent is not null and cited_by_count >= 10) as i10_index_5y,
        min(year) as first_year
    from ranked
    group by author_id, source
),

retracted as (
    select author_id, count(*) as retracted_works
    from author_papers
    where not counts_in_indices
    group by author_id
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
        coalesce(indices.h5_index, 0) as h5_index,
        coalesce(indices.i10_index_5y, 0) as i10_index_5y,
        indices.first_year,
        -- Hirsch's m-quotient: h over the years since the first publication (that year counts as 1)
        case when indices.first_year is not null
            then round(indices.h_index / (extract(year from current_date) - indices.first_year + 1), 3)
        end as m_quotient,
        case when indices.first_year is not null
            then round(indices.citations / (extract(year from current_date) - indices.first_year + 1), 2)
        end as citations_per_year,
        coalesce(retracted.retracted_works, 0) as retracted_works,
        reported.source_reported_h_index
    from watched
    cross join sources
    left join indices on indices.author_id = watched.author_id and indices.source = sources.source
    left join retracted on retracted.author_id = watched.author_id
    left join reported on reported.author_id = watched.author_id and reported.source = sources.source
    order by watched.author_id, sources.source
)

select * from final
