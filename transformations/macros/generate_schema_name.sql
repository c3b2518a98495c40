{#-
    Use a model's custom schema as-is (bronze, silver, gold) instead of dbt's default
    `<target schema>_<custom schema>`: the layers are Iceberg namespaces shared by every tool.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
