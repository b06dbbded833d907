/**
 * The long help texts of the commands (`cait <command> --help`, after the
 * options), in one place so that the command files hold the wiring and the
 * texts can be read and edited together. common.ts reflows them to 80
 * columns (HELP_WIDTH) when they are printed.
 */
import { DEFAULT_SIGMA_NM, DEFAULT_WINDOW_NM } from '../fit/measured.js';
import { CALIBRATION_DEFAULTS, DEFAULT_SLURM_POLL_S, DEFAULT_SLURM_TASKS } from './defaults.js';
import { ENGINES } from './engines.js';

/** --executor (cait ensemble, fit, sensitivity) */
export const EXECUTOR_HELP = `
Executors (--executor): local (default) runs the members here; slurm runs each batch of members
(a fit: the grid, every refinement round, the interval and sensitivity members) as ONE Slurm job
array and waits for it: task K of N runs \`cait run-shard --shard K/N\` (members i with i mod N = K)
with the same --engine, --adapter and --threads, the results are joined in member order, and the
job ids go into the output's provenance. A task that fails is reported with its task id and the
end of its log; its members are flagged failed, the others are kept. Ctrl-C cancels the job
(scancel). Needs sbatch, squeue and scancel here, and cait (node + this build) at the same path on
the nodes, with --slurm-dir on a filesystem they share.
  --slurm-array N        at most N array tasks per batch (default ${DEFAULT_SLURM_TASKS}; fewer members: one task each)
  --slurm-opt "OPTS"     sbatch options for every task, e.g. "--partition=gpu --gres=gpu:1 --time=02:00:00";
                         repeatable (the array, logs and CPUs per task are set by cait)
  --slurm-template FILE  your copy of scripts/slurm/job-template.sh (environment set-up, site defaults)
  --slurm-dir DIR        batch directories: request, job script, logs, task results (default: next
                         to --out, <out>.slurm); if this process dies (not Ctrl-C, which cancels),
                         the array runs on: join an ensemble's task results there with
                         \`cait merge DIR/batch-*/result_*.json --out FILE\`
  --slurm-poll S         seconds between squeue polls (default ${DEFAULT_SLURM_POLL_S})
`;

/** `cait simulate` */
export const SIMULATE_HELP = `
Outputs (written only when the whole run succeeded; an existing file is replaced atomically):
  --out FILE.json   result file "cait-result/1": provenance (version, date, config sha256,
                    node, platform), the validated protocol, the grid, and per stage: name,
                    beam, duration_s, charge_C, final_current_A, depth_nm (cell centres, nm),
                    density (n/n0 of every species), potential_V, current {t_s, I_A,
                    I_back_A, Q_C}, snapshots, particle balance and solver statistics.
  --csv DIR         per stage k = 1..N: DIR/<stem>_stage<k>.csv with depth_nm,<species...>
                    (n/n0), and DIR/<stem>_stage<k>_current.csv with t_s,I_A,I_back_A,Q_C
                    (s, A, A, C); <stem> is the name of FILE.json without ".json".
                    Comment lines (#) give version, config sha256, date and the stage.
  --plot FILE.svg   n/n0 versus depth (nm) after each stage, one panel per stage; and
                    FILE_current.svg, the current (nA) versus time (log s, or h with --linear-time).

Progress goes to stderr (a bar on a terminal, a line every 10 % otherwise);
a summary per stage goes to stdout. Exit status: 0 ok, 2 bad input, 3 solver failure.

Examples:
  cait simulate --preset quick --out results/quick.json
  cait simulate --preset paper --out results/paper.json --csv results --plot results/paper.svg
  cait simulate --config my.json --out my.json.result.json --quiet`;

/** `cait ensemble` */
export const VARY_HELP = `
What varies (any numeric field of the protocol, named by its dotted path; stages count from 0):
  --vary PATH=a,b,c          the listed values
  --vary PATH=lo:hi:N        N points from lo to hi, evenly spaced (both ends included)
  --vary PATH=lo:hi:N:log    N points from lo to hi, geometric (lo, hi > 0)
  several --vary             the cartesian product (the last --vary varies fastest)
  --sample lhs:N --seed S    a Latin hypercube of N members over ranges PATH=lo:hi or PATH=lo:hi:log
  --sweep FILE               the same as a JSON file (cait-sweep/1, with its own base protocol)
Values are in the units of the field's name: _m2s = m²/s, _eV = eV, _K = K, _V = V, _C = C,
_s = s, _m = m, grid lengths _nm = nm. List the paths with \`cait config --preset paper\`.
The D(Cs+) of stage 2 of the paper preset is stages.1.D.Cs.D_m2s.
`;

/** `cait ensemble` */
export const ENGINES_HELP = `
Engines: --engine cpu (the f64 solver on --threads worker threads, default all cores);
--engine webgpu (float32 WGSL kernels, one lattice per invocation, all members at once; the
quasi-neutral formulation with D tabulated on 4096 θ points, checked against its f64 twin) on
--adapter auto (a real GPU, else SwiftShader) | vulkan | swiftshader | null (validation only).
A software adapter is for correctness, not speed: the paper preset takes minutes per member there.
--engine gpujs: the same scheme with its flux kernels in gpu.js (f32; WebAssembly in Node) and
the rest on the host; --adapter auto or a gpu.js mode (webasm, cpu). --engine webgpu --adapter auto
runs it, saying so on stderr, when there is no WebGPU adapter the engine can use.
`;

/** `cait ensemble` */
export const OUTPUTS_HELP = `
Outputs (written only after the run, all together; an existing file is replaced atomically):
  --out FILE.json   "cait-ensemble/1": provenance (version, date, config sha256 of the base,
                    node, platform, engine, adapter, wall_s), the base protocol, the parameter
                    paths and per member: values, status ok|failed, reason (if failed), cells,
                    wall_s and per stage: name, beam, duration_s (s), charge_C (C),
                    final_current_A (A), front_nm (depth in nm where each species crosses
                    0.5 n0: native rising, foreign falling), max (per species: maximum n/n0 of the
                    profile blurred by 1 nm over 2-150 nm, and its depth_nm), mean (mean n/n0 from
                    2 nm to the native front - 5 nm), stats, balance; with --profiles final also
                    depth_nm, density (n/n0), potential_V; with --profiles all also the current
                    record and snapshots (every field of a cait-result/1 stage).
  --csv FILE.csv    one row per member: parameters, status, reason, and per stage k the
                    scalars as s<k>_<field> (units in its # comment lines).
  --plot FILE.svg   one species' n/n0 versus depth after one stage, a line per member, the
                    legend giving the varied values (needs --profiles final or all).

Progress goes to stderr (a bar on a terminal: members done / total, members/s, failed, how
many members run each stage; otherwise a line per 10 % and one per failed member). A summary
goes to stdout. A member that fails (its step control gives up, a stage cannot deliver its
charge, a NaN/Inf) is flagged in the outputs and counted; the run still succeeds.
Exit status: 0 ok (also with failed members), 2 bad input, 3 the engine failed.
`;

/** `cait ensemble` */
export const ENSEMBLE_EXAMPLES_HELP = `
Examples:
  cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23 \\
      --out results/dcs.json --csv results/dcs.csv --plot results/dcs_rb.svg --plot-species Rb --plot-stage 2
  cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:7:log \\
      --vary stages.0.D.Rb.D_m2s=2e-22,2.67e-22 --profiles none --out results/grid.json --csv results/grid.csv
  cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:log --vary sample.epsr=4:16 \\
      --sample lhs:200 --seed 7 --profiles none --threads 8 --out results/lhs.json
  cait ensemble --sweep my-sweep.json --out results/sweep.json
  cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:64:log --shard 0/4 --out results/part0.json
      (then shards 1/4..3/4 anywhere, and: cait merge results/part*.json --out results/dcs.json)
  cait ensemble --preset paper --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:64:log --profiles none \
      --executor slurm --slurm-array 16 --slurm-opt "--partition=gpu --gres=gpu:1 --time=01:00:00" \
      --engine webgpu --out results/dcs.json      (add --dry-run to see the job script)`;

/** `cait ensemble` */
export const SHARD_HELP = `
Shards: --shard K/N (K = 0..N-1) runs only the members i with i mod N = K and writes them, in member
order, with a "shard" block naming the whole ensemble (base protocol sha256, parameters, member
count, design, seed, values sha256, profiles level, version); \`cait merge\` joins the N shard files
into the file the whole run writes. --shard $SLURM_ARRAY_TASK_ID/N works as it is in a job script.
`;

/** `cait headless` */
export const HEADLESS_HELP = `
The browser: the page built by \`npm run build\` (dist-web/, or --web-root DIR) is served on
http://127.0.0.1 (WebGPU needs a secure context) and opened in headless Chromium (--chromium
PATH, default $CAIT_CHROMIUM or /usr/bin/chromium) with --enable-unsafe-webgpu; without a GPU
its adapter is SwiftShader. --browser-engine webgpu runs the float32 WGSL engine (the same
scheme as cait ensemble --engine webgpu), gpujs the gpu.js engine on WebGL2, auto WebGPU when
the browser has an adapter, else gpu.js (said on stderr). The adapter recorded in the outputs is
the browser's, e.g. "google swiftshader [google swiftshader, core, fallback] (Chrome 156 WebGPU)".
`;

/** `cait headless` */
export const HEADLESS_FIT_HELP = `
With --fit the command is \`cait fit\` (every other option is cait fit's: --measured, --sigma,
--refine, …, --out DIR; see \`cait fit --help\`) with its members run in the browser; --engine,
--adapter and --threads do not apply (use --browser-engine).
`;

/** `cait headless` */
export const HEADLESS_EXAMPLES_HELP = `
Examples:
  npm run build
  cait headless --preset paper --vary stages.1.D.Cs.D_m2s=2.4e-23,3.1e-23,3.8e-23 \\
      --out results/dcs-browser.json --csv results/dcs-browser.csv
  cait headless --preset quick --vary stages.0.D.Rb.D_m2s=2e-22:3e-22:4 --profiles none \\
      --browser-engine gpujs --out results/rb-gpujs.json
  cait headless --fit --preset paper --measured data/cs.csv --vary stages.1.D.Cs.D_m2s=2e-23:5e-23:7:log \\
      --refine 1 --out results/fit-browser`;

/** `cait sims` */
export const SIMS_HELP = `
Formats (detected by content unless --format is given):
  csv      CSV/TSV with a header: a time column (time_s, "Sputter Time (s)", time (min)) or a
           depth column (depth_nm, "Depth (um)"), and one column per mass channel
           (6Li, 7Li, 85Rb, 87Rb, 133Cs, ...) or per element (already normalized: Li, Rb, Cs)
  iontof   IONTOF SurfaceLab ASCII depth-profile export (tabs, "#" header lines with ion
           labels and "Sputter Time (s)" / "Intensity" column titles)
  cameca   Cameca IMS .dp_rpc_asc (*** DATA START *** ... *** DATA END ***, Time[mn] Depth
           I[cnt/s] per species; species resampled linearly onto the first species' times;
           depth from the file's crater depth / sputter rate unless given here)

Processing, in this order:
  1. counting corrections (none when the detector is unknown):
     ToF counts per point, with --shots N: I = -N ln(1 - C/N) (C >= N is an error,
       C/N >= 0.5 a warning);
     count rates (cnt/s) with a dead time tau: N = N_obs / (1 - N_obs tau) (non-paralysable
       detector); tau is the Cameca file's "EM Dead Time" unless --dead-time is given
       (--dead-time 0: no correction, e.g. when the export is already corrected; for a CSV
       of count rates give --dead-time NS). N_obs tau > 0.1 is a warning, >= 1 an error.
  2. depth = t * crater / total time, or rate * t;
  3. isotopes summed per element (7Li+ -> Li, 6Li + 7Li -> Li);
  4. c_X = s_X I_X / sum_Y s_Y I_Y (s = --sensitivity, default 1).

Charge calibration (--calibrate-from-charge Rb=2.52e-3[,Cs=2.28e-3], charges in C):
  the factors s_b of the listed beam species are solved for so that each integrates to
  the delivered ions as a layer of native density: int c_b dx = Q_b / (e n0 A), with
  n0 = --n0 (m^-3) and A = --area (m^2), defaults the paper preset's sample
  (n0 = ${CALIBRATION_DEFAULTS.n0_m3.toExponential()} m^-3, A = ${CALIBRATION_DEFAULTS.area_m2.toExponential()} m^2). The integral runs over the
  profile's points (c held at its first value up to the surface). The other species keep
  their --sensitivity (default 1).
  What is identifiable: c is normalized to sum 1 at every point, so only RATIOS of factors
  matter and one species must stay uncalibrated (the native Li). One beam species and one
  native species: exactly one factor, s_beam / s_native. Two beams (Rb, Cs after stage 2)
  and Li: two factors, one per charge. The same normalization forces sum c = 1, so these
  data cannot test the 1:1 replacement, and the factors scale with the assumed n0 (and A);
  the profile must hold the whole inventory (a warning when the beam signal at the
  deepest point is still > 1 % of its maximum).

Output: "#" provenance lines, then depth_nm,<elements> (depth nm, c dimensionless, sum 1),
written atomically (an existing file survives a failed run). Exit status: 0 ok, 2 bad input.

Examples:
  cait sims profile.txt --shots 500 --crater-depth 250 --out profile.csv
  cait sims glass.dp_rpc_asc --sensitivity Li=1,Cs=2.6 --out glass.csv
  cait sims glass.dp_rpc_asc --dead-time 0 --out glass.csv        (export already dead-time corrected)
  cait sims rb.txt --shots 10000 --crater-depth 100 --calibrate-from-charge Rb=2.52e-3 --out rb.csv
  cait sims scripts/synthetic/paper-stage2.txt --shots 10000 --crater-depth 200 --sensitivity Li=1,Rb=0.4,Cs=0.25 --out stage2.csv
      (SYNTHETIC example data: scripts/synthetic/README.md)`;

/** `cait fit` */
export const MEASURED_HELP = `
Measured profiles (repeatable; stages count from 1 as in the protocol: 1 = the Rb+ stage of
the paper preset, 2 = the Cs+ stage):
  --measured FILE               a profile measured after the last stage
  --measured K:FILE             a profile measured after stage K
A file is what \`cait sims\` reads: a normalized CSV (depth_nm,Li,Rb,Cs) or raw counts (CSV/TSV,
IONTOF ASCII, Cameca), processed with --shots, --crater-depth, --sputter-rate, --sensitivity.
Per-measurement options: written K:VALUE they apply to the files of stage K, else to all
(a stage-specific one wins):
  --sigma [K:]NM                Gaussian depth resolution σ in nm (default ${DEFAULT_SIGMA_NM}); roughness grows
                                after stage 2, e.g. --sigma 2 --sigma 2:20
  --mri [K:]W,SIGMA,LAMBDA      Hofmann MRI depth resolution instead: mixing length, roughness,
                                information depth, nm
  --window [K:]FROM:TO          depth window compared, nm (default ${DEFAULT_WINDOW_NM[0]}:${DEFAULT_WINDOW_NM[1]}; excludes surface artefacts)
  --weights [K:]Li=1,Rb=1,Cs=1  weight of each species' squared differences (0 leaves it out)
The model is the simulated n/n0 seen through the depth resolution (mirrored at the surface) at
the measured depths; residual = Σ_observations Σ_species w Σ_points (model − measured)².`;

/** `cait fit` */
export const FIT_HELP = `${MEASURED_HELP}

What is fitted (dotted paths; stages count from 0 in paths; in the units of the
field's name, _m2s = m²/s, _eV = eV, _K = K, _V = V):
  --vary PATH=SPEC   the grid, SPEC = a,b,c | lo:hi:N | lo:hi:N:log (lo < hi), as
                     in cait ensemble; the grid's range is the box the fit searches
D(Cs+) of stage 2 is stages.1.D.Cs.D_m2s; the Rb+ SED width (populated FWHM) in
stage 2 is stages.1.D.Rb.width.value_eV. A list of D values (…_m2s) is treated as
a log axis.

The fit: (1) the grid, one engine batch; (2) --refine N rounds of 3 points per
axis around the best --refine-centres members, the spacing shrinking 3× per round
(in ln p on log axes), inside the grid's range; (3) a local optimiser from the
best member: Levenberg–Marquardt on the residual vector with finite-difference
Jacobians, each iteration one engine batch (its trial steps with their
difference members), until the Gauss–Newton step predicts a χ² decrease below
0.01 (--local-steps iterations at most); (4) noise s² = residual_best / (points −
parameters), χ² = residual / s²; members placed where the Δχ² = 1 surface is
expected around the best, a quadratic fitted to them, its Δχ² = 1 profile
intervals, cross-checked against the discrete profile (the minimum over the
evaluated members per value); (5) the --top K members; (6) sensitivity at the
best: d model / d ln p by ±--sens-step central differences (±5 % by default),
each parameter at 0.8× and 1.2× (the ±20 % view), the linearised (Gauss–Newton)
interval and a cluster-robust (sandwich) one that estimates the noise per
measured depth point instead of assuming one s² for all points and independent
species (skip all of (6) with --no-sens). The fit checks itself: a best outside
its own interval, a quadratic whose minimum is not at the best, an optimiser that
did not converge, an optimum or interval at a bound of the grid each give a
WARNING (stderr, fit.json "warnings", the page) and fit.json "convergence". Δχ² =
1 is a 68 % interval per parameter only when the noise is Gaussian with one
variance everywhere: normalized SIMS data (species summing to 1, noise-free
plateaus) break that; compare with the robust interval (npm run bench:coverage
prints how often each holds the truth).

Outputs in --out DIR (written together at the end; existing files are replaced atomically):
  fit.json              cait-fit/1: provenance (version, date, config sha256, engine, adapter,
                        command, wall_s), base protocol, parameters, grid axes and residuals, every
                        member (values, source grid|refine|local|interval|sensitivity, status, residual, parts,
                        model at the measured depths unless --member-profiles none), noise, best
                        (values, residual, interval; interval_profile, interval_linearized,
                        interval_robust, quadratic), convergence, top, measured data, sensitivity, warnings
  members.csv           one row per member: parameters, source, status, reason, residual, χ², parts
  best_fit_<k>.csv      observation k: depth (nm), measured and model n/n0 per species
  sensitivity_<k>.csv   observation k: d(n/n0)/d ln p per parameter and species
  map_<a>_<b>.csv/.svg  residual map of parameters a and b (1-based), others minimised over
                        (--map-mode min) or at the best grid member (--map-mode fixed)
  best_fit.svg, sensitivity.svg, pm20.svg    figures

Engines (--engine): ${ENGINES.join(', ')}; cpu uses --threads workers, webgpu --adapter auto|vulkan|swiftshader.
${EXECUTOR_HELP}
Exit status: 0 ok, 2 bad input, 3 the engine failed.

Examples:
  cait fit --preset paper --measured 1:rb.csv --measured 2:cs.csv --sigma 2 --sigma 2:20 \\
      --vary stages.1.D.Cs.D_m2s=1.5e-23:6e-23:7:log --vary stages.1.D.Rb.width.value_eV=0.18:0.27:7 \\
      --refine 2 --out results/fit
  cait fit --preset paper --measured cs_raw.txt --shots 500 --crater-depth 250 --window 5:120 \\
      --vary stages.1.D.Cs.D_m2s=1e-23,2e-23,4e-23,8e-23 --engine webgpu --out results/fit-cs`;

/** `cait fit` */
export const SENSITIVITY_HELP = `${MEASURED_HELP}

The point: --at PATH=VALUE (repeatable; --at PATH takes the protocol's own value). Per
parameter: d model / d ln p by ±--sens-step central differences, and the model at 0.8× and
1.2× of it, the others at the point (one engine batch). The interval in fit.json is the
linearised (Gauss–Newton) Δχ² = 1 interval, s² = residual / (points − parameters).

Outputs in --out DIR: fit.json (cait-fit/1 with one grid member), members.csv,
best_fit_<k>.csv, sensitivity_<k>.csv, best_fit.svg, sensitivity.svg, pm20.svg.

Example:
  cait sensitivity --preset paper --measured 1:rb.csv --measured 2:cs.csv \\
      --at stages.1.D.Cs.D_m2s=3.1e-23 --at stages.1.D.Rb.width.value_eV --out results/sens`;

/** `cait serve` */
export const SERVE_HELP = `
The page: a cait-fit/1 result (residual heatmap over any two parameters, member profiles,
sensitivity), a cait-ensemble/1 file (member table, profiles) or a SIMS depth profile, opened
with the file picker or dropped on the page; files under the served folder also load with
?file=NAME. Everything runs in the browser; the server only hands out the folder's files.

Safety: the server listens on 127.0.0.1 (loopback) unless --host names another interface AND
--allow-remote is given (then anyone who can reach that address can read the folder).

--example opens a small example straight away (a converged fit of the quick preset
over D(Rb+) × U, or with --example ensemble a three-member ensemble; examples/).

Examples:
  npm run build && cait serve
  cait serve --example --open
  cait serve --port 8080 --open
  cait serve --host 0.0.0.0 --allow-remote --port 8080`;
