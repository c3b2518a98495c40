{#-
    When the dbt invocation that writes a row started (UTC, the same value for every row of one
    run). An incremental model's delete+insert rewrites a touched key's rows with the new value, so
    the rows newer than what a table last published are exactly the rows to publish again
    (lakehouse/publish.py publishes from the smallest such key on, not the whole table).
-#}
{% macro built_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ lakehouse.type_timestamp_us() }})
{%- endmacro %}
