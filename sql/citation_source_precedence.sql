-- grain: one row per source whose citation counts the warehouse keeps: the one precedence rule behind every "best" count (lower precedence wins; open bibliographic databases with per-work ids first, counts scraped from profile pages last)
with rule as (
    select * from (
        values
            ('openalex', 1, 'OpenAlex cited_by_count'),
            ('semantic_scholar', 2, 'Semantic Scholar citationCount'),
            ('crossref', 3, 'Crossref is-referenced-by-count'),
            ('scholar_feed', 4, 'Scholar Feed citation count'),
            ('profiles', 5, 'profile page (e.g. Google Scholar) count')
    ) as r(source, precedence, counted_as)
),

final as (
    select source, cast(precedence as integer) as precedence, counted_as from rule order by precedence
)

select * from final
