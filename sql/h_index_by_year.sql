-- grain: one row per watched author and calendar year (first work to this year): h, g and i10 from the "best" count each work had by the end of that year; the last year equals metrics.citations_per_author (source best)
with watched as (
    select author_id, display_name from main.authors where is_watched
),

author_papers as (
    select distinct authorships.author_id, authorships.paper_id, papers.year as paper_year, best.best_citations
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
    inner join main.papers on papers.paper_id = authorships.paper_id
    inner join metrics.paper_best_citations as best on best.paper_id = authorships.paper_id
    where papers.year is not null and best.counts_in_indices
),

years as (
    select author_id, cast(unnest(generate_series(min(paper_year), cast(extract(year from current_date) as integer))) as integer) as year
    from author_papers
    group by author_id
),

later as (
    -- citations received after each year, from OpenAlex counts_by_year (roughly the last decade)
    select author_papers.author_id, author_papers.paper_id, years.year, coalesce(sum(by_year.cited_by_count), 0) as after_year
    from author_papers
    inner join years on years.author_id = author_papers.author_id and author_papers.paper_year <= years.year
    left join main.paper_citations_by_year as by_year
        on by_year.paper_id = author_papers.paper_id and by_year.source = 'openalex' and by_year.year > years.year
    group by author_papers.author_id, author_papers.paper_id, years.year
),

to_date as (
    -- the best count today minus what came after that year (never below 0): so a paper's count
    -- by year rests on the same total as every other view
    select
        later.author_id,
        later.year,
        later.paper_id,
        cast(greatest(author_papers.best_citations - later.after_year, 0) as bigint) as citations_to_date
    from later
    inner join author_papers on author_papers.author_id = later.author_id and author_papers.paper_id = later.paper_id
),

ranked as (
    select
        *,
        row_number() over by_count as rank_by_citations,
        sum(citations_to_date) over (by_count rows between unbounded preceding and current row) as cumulative
    from to_date
    window by_count as (partition by author_id, year order by citations_to_date desc, paper_id)
),

final as (
    select
        ranked.author_id,
        watched.display_name,
        ranked.year,
        count(*) as works_to_date,
        cast(sum(ranked.citations_to_date) as bigint) as citations_to_date,
        coalesce(max(rank_by_citations) filter (where citations_to_date >= rank_by_citations), 0) as h_index,
        coalesce(max(rank_by_citations) filter (where cumulative >= rank_by_citations * rank_by_citations), 0) as g_index,
        count(*) filter (where citations_to_date >= 10) as i10_index
    from ranked
    inner join watched on watched.author_id = ranked.author_id
    group by ranked.author_id, watched.display_name, ranked.year
    order by ranked.author_id, ranked.year
)

select * from final
