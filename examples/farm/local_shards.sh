# Two local processes, one shard each, into one directory (one line; use N = number of cores / threads):
for i in 0 1; do synth render --config examples/farm/job.yaml --out out/hands-1m --shard $i/2 --cpus-per-worker 1 & done; wait
