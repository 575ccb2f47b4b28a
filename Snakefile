# gapbench: the two experiments of "Architectural nuances and benchmark gaps in scientific ML", end to end.
#   snakemake --cores N                 whole pipeline on config.yaml
#   snakemake --cores N pde_data        one stage: pde_data | graph_data | train | tables
# Every rule calls one `gapbench` subcommand; the science lives in src/gapbench.
from snakemake.utils import min_version

# Tested with Snakemake 9.27; the rules use lookup(), YTE workflow profiles and the executor-plugin CLI of 9.x.
min_version("9.0")

import sys


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/pde_data.smk"
include: "workflow/rules/graph_data.smk"
include: "workflow/rules/train_pde.smk"
include: "workflow/rules/train_graph.smk"
include: "workflow/rules/tables.smk"


from gapbench.rerun import report_refusal

if report_refusal(sys.argv):  # --report after a failed run: the tables may be an earlier config's
    raise SystemExit(report_refusal(sys.argv))


localrules:
    all,
    pde_data,
    graph_data,
    train,
    tables,


onstart:
    print("gapbench: config validated; results go to results/, logs to results/logs/")


onsuccess:
    from gapbench.rerun import clear_failure

    clear_failure()
    print("gapbench: done. Tables: results/tables/, claims: results/claims.md")


onerror:
    from gapbench.rerun import rerun_flags, record_failure

    flags = rerun_flags(sys.argv, workflow.overwrite_configfiles)
    tables = rerun_flags(sys.argv, workflow.overwrite_configfiles, extra_config=["tables={allow_missing: true}"])
    hint = (
        f"Finish the rest: snakemake{flags} --keep-going --rerun-incomplete\n"
        f"Then tables from what exists (failed cells marked missing): snakemake tables{tables}\n"
    )
    record_failure(hint)
    print("gapbench: a job failed; its log path is printed above (results/logs/...).")
    print(f"  Finish the rest:  snakemake{flags} --keep-going --rerun-incomplete")
    print("  Then tables from what exists (failed cells marked missing):")
    print(f"  snakemake tables{tables}")


rule all:
    default_target: True
    input:
        pde_data_targets(),
        graph_data_targets(),
        train_pde_targets(),
        train_graph_targets(),
        tables_targets(),


rule pde_data:
    input:
        pde_data_targets(),


rule graph_data:
    input:
        graph_data_targets(),


rule train:
    input:
        train_pde_targets(),
        train_graph_targets(),


rule tables:
    input:
        tables_targets(),
