-- grain: one row per watched author: field-normalised impact where OpenAlex rates the works (FWCI: 1.0 is the world average of works of the same field, type and year; citation percentile among them), retracted works left out
with watched as (
    select author_id, display_name from main.authors where is_watched
),

rated as (
    select distinct authorships.author_id, papers.paper_id, papers.fwci, papers.citation_percentile
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
    inner join main.papers on papers.paper_id = authorships.paper_id
    inner join metrics.paper_best_citations as b on b.paper_id = papers.paper_id and b.counts_in_indices
),

per_author as (
    select
        author_id,
        count(*) as works,
        count(fwci) as works_rated,
        round(avg(fwci), 3) as mean_fwci,
        round(median(fwci), 3) as median_fwci,
        round(median(citation_percentile), 4) as median_citation_percentile,
        count(*) filter (where citation_percentile >= 0.9) as works_top_10_percent,
        count(*) filter (where citation_percentile >= 0.99) as works_top_1_percent
    from rated
    group by author_id
),

final as (
    select
        watched.author_id,
        watched.display_name,
        coalesce(per_author.works, 0) as works,
        coalesce(per_author.works_rated, 0) as works_rated,
        per_author.mean_fwci,
        per_author.median_fwci,
        per_author.median_citation_percentile,
        coalesce(per_author.works_top_10_percent, 0) as works_top_10_percent,
        coalesce(per_author.works_top_1_percent, 0) as works_top_1_percent
    from watched
    left join per_author on per_author.author_id = watched.author_id
    order by watched.author_id
)

select * from final
