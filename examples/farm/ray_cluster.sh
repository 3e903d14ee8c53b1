# Ray (pip install 'synth-hands[farm]'): one render actor per CPU slot of the cluster
# (or per GPU with --device gpu --gpus-per-worker 1); the output directory must be shared.
synth render --config examples/farm/job.yaml --out out/hands-1m --executor ray --address auto --cpus-per-worker 2
