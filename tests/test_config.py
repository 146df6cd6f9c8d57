"""Options from YAML/TOML config files; command-line flags override them."""

from support import read_jsonl


def test_yaml_config_with_flag_override(rvtune_cli, sample_jsonl, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"dataset: {sample_jsonl}\nformatter: plain\nvalid-fraction: 0.3\n"
                   f"prepare:\n  out: {tmp_path / 'from-config'}\n")
    proc = rvtune_cli("prepare", "--config", cfg, "--formatter", "chatml")
    assert proc.returncode == 0, proc.stderr
    rows = read_jsonl(tmp_path / "from-config" / "train.jsonl")
    assert rows[0]["text"].startswith("<|im_start|>user")  # the flag won
    assert len(read_jsonl(tmp_path / "from-config" / "valid.jsonl")) == 3  # 0.3 of 10


def test_toml_config_and_print_config(rvtune_cli, sample_jsonl, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'dataset = "{sample_jsonl}"\nseed = 7\n[prepare]\nformatter = "plain"\n')
    proc = rvtune_cli("prepare", "--config", cfg, "--print-config", "--seed", "9")
    assert proc.returncode == 0, proc.stderr
    assert "seed: 9" in proc.stdout and "formatter: plain" in proc.stdout
    assert f"dataset: {sample_jsonl}" in proc.stdout
    assert not (tmp_path / "data").exists()


def test_config_errors_are_one_line(rvtune_cli, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("formater: plain\n")
    proc = rvtune_cli("prepare", "--config", cfg)
    assert proc.returncode == 2 and "unknown option 'formater'" in proc.stderr
    assert "formatter" in proc.stderr and "Traceback" not in proc.stderr
    cfg.write_text("dataset: [unclosed\n")
    proc = rvtune_cli("prepare", "--config", cfg)
    assert proc.returncode == 2 and "not valid yaml" in proc.stderr
