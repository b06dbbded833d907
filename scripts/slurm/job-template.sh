#!/bin/bash
# The job script of one Slurm job array of cait (`cait ensemble|fit|sensitivity … --executor slurm`).
# Copy it, edit it (environment set-up, #SBATCH defaults of your site) and pass the copy with
# --slurm-template FILE; `cait ensemble … --executor slurm --dry-run` prints the filled-in script.
# cait fills in the four placeholders below, written in double curly braces:
#   SBATCH      #SBATCH lines: job name, the array, one log per task, CPUs per task, and
#               every --slurm-opt (partition, GPUs, time limit, account, …)
#   DIR         the batch's directory (request, results, logs), on a filesystem the nodes share
#   CAIT        node and the cait script as the submitting machine has them
#   RUN_SHARD   the arguments of `cait run-shard` for this task: its shard of the request,
#               its result and progress files, the engine options
# Each array task runs shard $SLURM_ARRAY_TASK_ID of the request and writes result_<task>.json.
{{SBATCH}}
set -euo pipefail

# Set up the node here if cait's node is not on the compute nodes' PATH, e.g.:
#   module load nodejs/20

cd {{DIR}}
exec {{CAIT}} run-shard {{RUN_SHARD}}
