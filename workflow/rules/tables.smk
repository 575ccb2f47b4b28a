# tables stage: aggregate the training stage's metrics files into comparison tables, figures and claims.
# One local job, `gapbench tables build`; it reads only metrics files (+ the data stage's omega_f.csv) and takes
# seconds, so it re-runs whenever a metrics file, the tables code or the tables config changes.
#
# Failed training jobs: by default the tables depend on every expected metrics file, so with --keep-going a
# failed job leaves the tables unbuilt in that invocation (Snakemake never runs a job whose input failed).
# Then `snakemake tables --config tables='{allow_missing: true}'` builds them from the metrics files that exist;
# the absent ones are marked missing in every table and listed in results/tables/missing.csv.
from pathlib import Path

import gapbench.tables
from gapbench.tables import plan as tables_plan

TABLES_CODE = sorted(str(p) for p in Path(gapbench.tables.__file__).parent.glob("*.py"))


localrules:
    tables_build,


# The metrics.json files the training stage is configured to write (cells without one are marked missing).
tables_expected_metrics = lambda wildcards=None: tables_plan.expected_metrics(
    train_pde_targets(), train_graph_targets()
)
# Inputs: those files and the omega_f tables; with tables.allow_missing only the ones that exist now.
tables_inputs = lambda wildcards: tables_plan.rule_inputs(
    tables_expected_metrics(), lookup(dpath="tables/allow_missing", within=config)
)


# Build every table (.csv/.md/.html), figure (.png/.pdf) and results/claims.md|html from the metrics files. The
# report's items are the HTML pages and the PNGs (a browser shows neither Markdown nor CSV inside the report).
rule tables_build:
    input:
        metrics=tables_inputs,
        code=TABLES_CODE,
    output:
        claims_html=report(
            "results/claims.html",
            caption="../report/claims.rst",
            category="Claims",
            labels={"name": "Claims of the seed", "type": "claims"},
        ),
        claims="results/claims.md",
        pde_pairs_html=report(
            "results/tables/pde_pairs.html",
            caption="../report/pde_pairs.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "Memory vs Markovian", "type": "table"},
        ),
        pde_pairs="results/tables/pde_pairs.csv",
        pde_pairs_md="results/tables/pde_pairs.md",
        missing_html=report(
            "results/tables/missing.html",
            caption="../report/missing.rst",
            category="Claims",
            labels={"name": "Missing runs", "type": "table"},
        ),
        missing="results/tables/missing.csv",
        table1_html=report(
            "results/tables/table1_benchmarks.html",
            caption="../report/table1_benchmarks.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Table 1: benchmarks", "type": "table"},
        ),
        table1="results/tables/table1_benchmarks.csv",
        table1_md="results/tables/table1_benchmarks.md",
        table2_html=report(
            "results/tables/table2_planted_star.html",
            caption="../report/table2_planted_star.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Table 2: planted star", "type": "table"},
        ),
        table2="results/tables/table2_planted_star.csv",
        table2_md="results/tables/table2_planted_star.md",
        graphical_html=report(
            "results/tables/graphical_models.html",
            caption="../report/graphical_models.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Graphical models, duplicates", "type": "table"},
        ),
        graphical="results/tables/graphical_models.csv",
        graphical_md="results/tables/graphical_models.md",
        memory_html=report(
            "results/tables/memory_threshold.html",
            caption="../report/memory_threshold.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Memory threshold", "type": "table"},
        ),
        memory="results/tables/memory_threshold.csv",
        memory_md="results/tables/memory_threshold.md",
        pde_ks_html=report(
            "results/tables/pde_ks.html",
            caption="../report/pde_ks.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "KS", "type": "table"},
        ),
        pde_ks="results/tables/pde_ks.csv",
        pde_ks_md="results/tables/pde_ks.md",
        pde_ns_html=report(
            "results/tables/pde_ns.html",
            caption="../report/pde_ns.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "NS", "type": "table"},
        ),
        pde_ns="results/tables/pde_ns.csv",
        pde_ns_md="results/tables/pde_ns.md",
        runs_graph_html=report(
            "results/tables/runs_graph.html",
            caption="../report/runs.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "All graph runs", "type": "table"},
        ),
        runs_graph="results/tables/runs_graph.csv",
        sweeps_graph_html=report(
            "results/tables/sweeps_graph.html",
            caption="../report/sweeps.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "All sweep configurations", "type": "table"},
        ),
        sweeps_graph="results/tables/sweeps_graph.csv",
        runs_pde_html=report(
            "results/tables/runs_pde.html",
            caption="../report/runs.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "All PDE runs", "type": "table"},
        ),
        runs_pde="results/tables/runs_pde.csv",
        delta=report(
            "results/figures/delta_nrmse_vs_omega_f.png",
            caption="../report/delta_nrmse_vs_omega_f.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "Delta nRMSE vs omega_f", "type": "figure"},
        ),
        delta_pdf="results/figures/delta_nrmse_vs_omega_f.pdf",
        rollout=report(
            "results/figures/rollout_nrmse.png",
            caption="../report/rollout_nrmse.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "nRMSE over the rollout", "type": "figure"},
        ),
        rollout_pdf="results/figures/rollout_nrmse.pdf",
        accuracy_cost=report(
            "results/figures/accuracy_vs_cost.png",
            caption="../report/accuracy_vs_cost.rst",
            category="Part II: memory in PDE surrogates",
            labels={"name": "Accuracy vs cost", "type": "figure"},
        ),
        accuracy_cost_pdf="results/figures/accuracy_vs_cost.pdf",
        node_edge=report(
            "results/figures/node_vs_edge.png",
            caption="../report/node_vs_edge.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Node vs edge vs size", "type": "figure"},
        ),
        node_edge_pdf="results/figures/node_vs_edge.pdf",
        memory_fig=report(
            "results/figures/memory_threshold.png",
            caption="../report/memory_threshold_figure.rst",
            category="Part I: edge vs node GNNs",
            labels={"name": "Error vs width per n", "type": "figure"},
        ),
        memory_fig_pdf="results/figures/memory_threshold.pdf",
        curves=report(
            "results/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            labels={"name": "Training curves", "type": "figure"},
        ),
        curves_pdf="results/figures/training_curves.pdf",
    log:
        "results/logs/tables/build.log",
    benchmark:
        "results/benchmarks/tables/build.tsv"
    conda:
        "../../envs/tables.yaml"
    params:
        expected=tables_expected_metrics,
        test=lookup(dpath="tables/test", within=config),
        alpha=lookup(dpath="tables/alpha", within=config),
        resamples=lookup(dpath="tables/bootstrap_resamples", within=config),
        seed=lookup(dpath="seed", within=config),
        delta_metric=lookup(dpath="tables/delta_metric", within=config),
        margin=lookup(dpath="tables/equivalence_margin", within=config),
        map_threshold=lookup(dpath="tables/map_accuracy_threshold", within=config),
        memory_nrmse=lookup(dpath="tables/memory_nrmse_target", within=config),
        memory_accuracy=lookup(dpath="tables/memory_accuracy_target", within=config),
    message:
        "tables: aggregating the metrics files into results/tables, results/figures and results/claims.md"
    shell:
        "python3 -m gapbench tables build --listed {params.expected:q} --data-dir results/data"
        " --tables-dir results/tables --figures-dir results/figures --claims {output.claims}"
        " --test {params.test:q} --alpha {params.alpha:q} --bootstrap-resamples {params.resamples:q}"
        " --seed {params.seed:q} --delta-metric {params.delta_metric:q} --equivalence-margin {params.margin:q}"
        " --map-threshold {params.map_threshold:q}"
        " --memory-nrmse-target {params.memory_nrmse:q} --memory-accuracy-target {params.memory_accuracy:q}"
        " --no-progress > {log} 2>&1"


tables_targets = lambda: [*rules.tables_build.output]
