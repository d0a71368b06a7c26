-- grain: one row per watched author and calendar year, from the author's first paper to the latest year with data (zero-filled); citations received that year per OpenAlex counts_by_year
with watched as (
    select author_id, display_name from main.authors where is_watched
),

author_papers as (
    select distinct authorships.author_id, authorships.paper_id, papers.year
    from main.authorships
    inner join watched on watched.author_id = authorships.author_id
    inner join main.papers on papers.paper_id = authorships.paper_id
),

received as (
    select author_papers.author_id, by_year.year, cast(sum(by_year.cited_by_count) as bigint) as citations
    from author_papers
    inner join main.paper_citations_by_year as by_year on by_year.paper_id = author_papers.paper_id
    group by author_papers.author_id, by_year.year
),

published as (
    select author_id, year, count(*) as works_published
    from author_papers
    where year is not null
    group by author_id, year
),

calendar as (
    select
        span.author_id,
        unnest(generate_series(span.first_year, greatest(span.first_year, last.year))) as year
    from (select author_id, min(year) as first_year from author_papers group by author_id) as span
    cross join (
        select greatest(
            (select max(year) from main.papers),
            (select max(year) from main.paper_citations_by_year)
        ) as year
    ) as last
    where span.first_year is not null
),

final as (
    select
        calendar.author_id,
        watched.display_name,
        cast(calendar.year as integer) as year,
        coalesce(published.works_published, 0) as works_published,
        coalesce(received.citations, 0) as citations,
        cast(sum(coalesce(received.citations, 0)) over (
            partition by calendar.author_id order by calendar.year
            rows between unbounded preceding and current row
        ) as bigint) as citations_to_date
    from calendar
    inner join watched on watched.author_id = calendar.author_id
    left join received on received.author_id = calendar.author_id and received.year = calendar.year
    left join published on published.author_id = calendar.author_id and published.year = calendar.year
    order by calendar.author_id, calendar.year
)

select * from final
