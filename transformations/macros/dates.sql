{#-
    One row per calendar day in [start_date, end_date), column `date_day`, built from a cross join
    of digit rows (no generate_series / sequence, which differ per engine). Covers up to 10^digits
    days. start_date and end_date are SQL date expressions (literals or scalar subqueries).
-#}
{% macro date_spine(start_date, end_date, digits=5) -%}
    {%- set digit_rows -%}
        select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    {%- endset -%}
    select date_day
    from (
        select
            cast({{ dbt.dateadd('day', 'day_offset', start_date) }} as date) as date_day
        from (
            select
                {% for i in range(digits) -%}
                    digit_{{ i }}.d * {{ 10 ** i }}{% if not loop.last %} + {% endif %}
                {%- endfor %} as day_offset
            from
                {% for i in range(digits) -%}
                    ({{ digit_rows }}) digit_{{ i }}{% if not loop.last %} cross join {% endif %}
                {% endfor %}
        ) offsets
    ) days
    where date_day < {{ end_date }}
{%- endmacro %}


{#- ISO day of week of a date: 1 = Monday ... 7 = Sunday. -#}
{% macro day_of_week_iso(column) -%}
    {{ return(adapter.dispatch('day_of_week_iso', 'lakehouse')(column)) }}
{%- endmacro %}

{#- Trino (and ANSI engines with this field): extract(dow) is already ISO. -#}
{% macro default__day_of_week_iso(column) -%}
    extract(dow from {{ column }})
{%- endmacro %}

{#- DuckDB: extract(dow) counts from Sunday = 0; isodow is the ISO numbering. -#}
{% macro duckdb__day_of_week_iso(column) -%}
    extract(isodow from {{ column }})
{%- endmacro %}


{#-
    Whole days from one date to another (negative when end_date is earlier). DuckDB and Trino
    both have date_diff('day', start, end) on dates; dbt.datediff would cast to millisecond
    timestamps on Trino (dbt-trino's datediff), which the Trino SQL tests refuse.
-#}
{% macro days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}
