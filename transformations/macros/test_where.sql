{#-
    dbt's get_where_subquery (the `where` config of data tests), plus one placeholder:
    __business_date_window__ stands for the rows that arrived in the run's business_date_window()
    (by the raw `_arrived_at` column, so the scan skips other dates' files; all rows without a
    window). Resolved when the test is compiled, so the window can change from run
    to run without a re-parse; dbt's documented way to give tests a dynamic filter.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__business_date_window__' in where -%}
        {%- set predicate = lakehouse.in_business_date_window('_arrived_at', instants=true) | trim or '1 = 1' -%}
        {%- set where = where | replace('__business_date_window__', predicate) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
