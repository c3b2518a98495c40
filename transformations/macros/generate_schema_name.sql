{#-
    Use a model's custom schema as-is (bronze, silver, gold) instead of dbt's default
    `<target schema>_<custom schema>`: the layers are Iceberg namespaces shared by every tool.

    Write-audit-publish on Trino: silver and gold are built and tested in `<layer>_staging`;
    only a build whose blocking tests pass is published into `silver`/`gold` by the code location
    (lakehouse/publish.py; the names: lakehouse/layers.py PUBLISHED_LAYERS, STAGING_SUFFIX). On DuckDB the database file itself
    is the private working copy, so the names stay as they are.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.type == 'trino' and custom_schema_name | trim in ['silver', 'gold'] -%}
        {{ custom_schema_name | trim }}_staging
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
