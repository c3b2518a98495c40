{#-
    md5 surrogate key over a list of SQL expressions (cross-engine: dbt.concat + dbt.hash).
    Each part is cast to text with nulls made explicit and parts are separated, so ('a', 'bc')
    and ('ab', 'c') differ. Pass timestamps through timestamp_to_string() for keys that are equal
    on every engine.
-#}
{% macro surrogate_key(expressions) -%}
    {%- if expressions is string -%}
        {%- set expressions = [expressions] -%}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- if not loop.first -%}
            {%- do parts.append("'|'") -%}
        {%- endif -%}
        {%- do parts.append(
            "coalesce(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), '_null_')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
