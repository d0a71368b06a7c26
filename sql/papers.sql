-- grain: one row per canonical paper (source records merged by DOI, arXiv id, title + year); citations_best by metrics.paper_best_citations' precedence rule
with papers as (
    select * from main.papers
),

authors as (
    select
        paper_id,
        string_agg(author_name, '; ' order by coalesce(position, 100000), author_id) as authors,
        string_agg(author_id, '; ' order by author_id) filter (where is_watched) as watched_authors,
        count(*) as n_authors
    from main.authorships
    group by paper_id
),

citations as (
    select
        paper_id,
        max(cited_by_count) filter (where source = 'openalex') as citations_openalex,
        max(cited_by_count) filter (where source = 'semantic_scholar') as citations_semantic_scholar
    from main.paper_citations
    group by paper_id
),

best as (
    select * from metrics.paper_best_citations
),

final as (
    select
        papers.paper_id,
        papers.title,
        papers.year,
        papers.publication_date,
        papers.venue,
        papers.doi,
        papers.arxiv_id,
        papers.openalex_id,
        papers.s2_paper_id,
        authors.authors,
        authors.watched_authors,
        coalesce(authors.n_authors, 0) as n_authors,
        citations.citations_openalex,
        citations.citations_semantic_scholar,
        best.best_citations as citations_best,
        best.best_source as citations_best_source,
        best.is_retracted,
        array_to_string(papers.sources, '; ') as sources
    from papers
    left join authors on authors.paper_id = papers.paper_id
    left join citations on citations.paper_id = papers.paper_id
    left join best on best.paper_id = papers.paper_id
    order by papers.year desc nulls last, papers.publication_date desc nulls last, papers.paper_id
)

select * from final
