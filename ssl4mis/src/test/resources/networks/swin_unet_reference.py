# Test-only stand-in for SSL4MIS's ViT_Seg (networks/vision_transformer.py, SwinUnet, over
# networks/swin_transformer_unet_skip_expand_decoder_sys.py, SwinTransformerSys), written for plain
# torch 1.13: the real files import timm and einops, which the test machines do not have.
#
# Module classes, attribute names and registration order follow the reference, so state_dict() has the
# reference's keys, order and shapes; the forward passes perform the same operations in the same order.
# The timm helpers (DropPath, to_2tuple, trunc_normal_) and the one einops pattern used are re-implemented
# below.
#
# Run as a script: python3 swin_unet_reference.py SPEC_JSON OUT_DIR
#   SPEC_JSON = {"cases": [{"name", "config": {yacs names: EMBED_DIM, IMG_SIZE, ...}, "num_classes",
#                           "in_channels", "batch", "seed", "noise", "skip_init", "save", "load", "forward"}]}
#   Per case, on stdout (tab-separated): "name key dtype shape" per state-dict entry, "name #params count",
#   "name drop_path module probability" per DropPath module, and with "load" (a state-dict file, e.g.
#   written by Java) "name buffer key same|differs" per buffer before load_state_dict(strict=True).
#   Files in OUT_DIR: save="state" writes name.pth (the SwinUnet state dict), save="buffers" name.buffers.pth;
#   forward=true writes name.io.pth = {"input", "output"} (eval mode, no grad; after "noise" and "load").
#   skip_init=true builds without initialising weights (uninitialised values; for layout-only cases).

import contextlib
import json
import math
import os
import sys
from types import SimpleNamespace

import torch
import torch.nn as nn


# ---- stand-ins for timm.models.layers and einops ------------------------------------------------------

def to_2tuple(v):
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v, v)


@torch.no_grad()
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Normal(mean, std) restricted to [a, b] (absolute bounds), by inverting the CDF of a uniform draw."""
    def cdf(v):
        return 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))
    lo = cdf((a - mean) / std)
    hi = cdf((b - mean) / std)
    tensor.uniform_(2.0 * lo - 1.0, 2.0 * hi - 1.0)
    tensor.erfinv_()
    tensor.mul_(std * math.sqrt(2.0)).add_(mean)
    tensor.clamp_(min=a, max=b)
    return tensor


class DropPath(nn.Module):
    """Stochastic depth: in training, zero a whole sample's residual branch with probability p, scale the rest."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask


def unfold_channels(x, p, c):
    """einops 'b h w (p1 p2 c) -> b (h p1) (w p2) c' with p1 = p2 = p."""
    b, h, w, _ = x.shape
    x = x.reshape(b, h, w, p, p, c)
    x = x.permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h * p, w * p, c)


# ---- building blocks ----------------------------------------------------------------------------------

class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5)
    return x.contiguous().view(b, h, w, -1)


class WindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads, qkv_bias=True, qk_scale=None, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        rows, cols = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing='ij')
        points = torch.stack([rows.flatten(), cols.flatten()])          # 2, N
        offsets = points[:, :, None] - points[:, None, :]                # 2, N, N
        index = (offsets[0] + wh - 1) * (2 * ww - 1) + (offsets[1] + ww - 1)
        self.register_buffer("relative_position_index", index)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(self.softmax(attn))
        x = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        return self.proj_drop(self.proj(x))


def region(coord, size, ws, shift):
    if coord < size - ws:
        return 0
    return 1 if coord < size - shift else 2


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, input_resolution, num_heads, window_size=7, shift_size=0, mlp_ratio=4.0,
                 qkv_bias=True, qk_scale=None, drop=0.0, attn_drop=0.0, drop_path=0.0,
                 act_layer=nn.GELU, norm_layer=nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.input_resolution = input_resolution
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift_size = shift_size
        self.mlp_ratio = mlp_ratio
        if min(input_resolution) <= window_size:
            self.shift_size = 0
            self.window_size = min(input_resolution)
        assert 0 <= self.shift_size < self.window_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, to_2tuple(self.window_size), num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)
        attn_mask = None
        if self.shift_size > 0:
            h, w = input_resolution
            ws, s = self.window_size, self.shift_size
            labels = torch.zeros((1, h, w, 1))
            for i in range(h):
                for j in range(w):
                    labels[0, i, j, 0] = 3 * region(i, h, ws, s) + region(j, w, ws, s)
            flat = window_partition(labels, ws).view(-1, ws * ws)
            diff = flat.unsqueeze(1) - flat.unsqueeze(2)
            attn_mask = diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)
        self.register_buffer("attn_mask", attn_mask)

    def forward(self, x):
        h, w = self.input_resolution
        b, l, c = x.shape
        assert l == h * w
        ws, s = self.window_size, self.shift_size
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        if s > 0:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        windows = window_partition(x, ws).view(-1, ws * ws, c)
        windows = self.attn(windows, mask=self.attn_mask).view(-1, ws, ws, c)
        x = window_reverse(windows, ws, h, w)
        if s > 0:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        x = shortcut + self.drop_path(x.view(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    def __init__(self, input_resolution, dim, norm_layer=nn.LayerNorm):
        super().__init__()
        self.input_resolution = input_resolution
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x):
        h, w = self.input_resolution
        b, l, c = x.shape
        assert l == h * w and h % 2 == 0 and w % 2 == 0
        x = x.view(b, h, w, c)
        x = torch.cat([x[:, 0::2, 0::2, :], x[:, 1::2, 0::2, :], x[:, 0::2, 1::2, :], x[:, 1::2, 1::2, :]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class PatchExpand(nn.Module):
    def __init__(self, input_resolution, dim, dim_scale=2, norm_layer=nn.LayerNorm):
        super().__init__()
        self.input_resolution = input_resolution
        self.dim = dim
        self.expand = nn.Linear(dim, 2 * dim, bias=False) if dim_scale == 2 else nn.Identity()
        self.norm = norm_layer(dim // dim_scale)

    def forward(self, x):
        h, w = self.input_resolution
        x = self.expand(x)
        b, l, c = x.shape
        assert l == h * w
        x = unfold_channels(x.view(b, h, w, c), 2, c // 4)
        return self.norm(x.reshape(b, -1, c // 4))


class FinalPatchExpand_X4(nn.Module):
    def __init__(self, input_resolution, dim, dim_scale=4, norm_layer=nn.LayerNorm):
        super().__init__()
        self.input_resolution = input_resolution
        self.dim = dim
        self.dim_scale = dim_scale
        self.expand = nn.Linear(dim, 16 * dim, bias=False)
        self.output_dim = dim
        self.norm = norm_layer(self.output_dim)

    def forward(self, x):
        h, w = self.input_resolution
        x = self.expand(x)
        b, l, c = x.shape
        assert l == h * w
        x = unfold_channels(x.view(b, h, w, c), self.dim_scale, c // self.dim_scale ** 2)
        return self.norm(x.reshape(b, -1, self.output_dim))


class BasicLayer(nn.Module):
    def __init__(self, dim, input_resolution, depth, num_heads, window_size, mlp_ratio=4.0, qkv_bias=True,
                 qk_scale=None, drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm,
                 downsample=None, use_checkpoint=False):
        super().__init__()
        self.dim = dim
        self.input_resolution = input_resolution
        self.depth = depth
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, input_resolution, num_heads, window_size,
                                 0 if i % 2 == 0 else window_size // 2, mlp_ratio, qkv_bias, qk_scale, drop,
                                 attn_drop, drop_path[i] if isinstance(drop_path, list) else drop_path,
                                 norm_layer=norm_layer)
            for i in range(depth)])
        self.downsample = downsample(input_resolution, dim=dim, norm_layer=norm_layer) if downsample else None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class BasicLayer_up(nn.Module):
    def __init__(self, dim, input_resolution, depth, num_heads, window_size, mlp_ratio=4.0, qkv_bias=True,
                 qk_scale=None, drop=0.0, attn_drop=0.0, drop_path=0.0, norm_layer=nn.LayerNorm,
                 upsample=None, use_checkpoint=False):
        super().__init__()
        self.dim = dim
        self.input_resolution = input_resolution
        self.depth = depth
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, input_resolution, num_heads, window_size,
                                 0 if i % 2 == 0 else window_size // 2, mlp_ratio, qkv_bias, qk_scale, drop,
                                 attn_drop, drop_path[i] if isinstance(drop_path, list) else drop_path,
                                 norm_layer=norm_layer)
            for i in range(depth)])
        if upsample is not None:
            self.upsample = PatchExpand(input_resolution, dim=dim, dim_scale=2, norm_layer=norm_layer)
        else:
            self.upsample = None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.upsample(x) if self.upsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, img_size=224, patch_size=4, in_chans=3, embed_dim=96, norm_layer=None):
        super().__init__()
        img_size = to_2tuple(img_size)
        patch_size = to_2tuple(patch_size)
        self.img_size = img_size
        self.patch_size = patch_size
        self.patches_resolution = [img_size[0] // patch_size[0], img_size[1] // patch_size[1]]
        self.num_patches = self.patches_resolution[0] * self.patches_resolution[1]
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x):
        assert tuple(x.shape[2:]) == tuple(self.img_size)
        x = self.proj(x).flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


class SwinTransformerSys(nn.Module):
    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, embed_dim=96,
                 depths=[2, 2, 2, 2], depths_decoder=[1, 2, 2, 2], num_heads=[3, 6, 12, 24], window_size=7,
                 mlp_ratio=4.0, qkv_bias=True, qk_scale=None, drop_rate=0.0, attn_drop_rate=0.0,
                 drop_path_rate=0.1, norm_layer=nn.LayerNorm, ape=False, patch_norm=True, use_checkpoint=False,
                 final_upsample="expand_first", **kwargs):
        super().__init__()
        self.num_classes = num_classes
        self.num_layers = len(depths)
        self.embed_dim = embed_dim
        self.ape = ape
        self.patch_norm = patch_norm
        self.num_features = int(embed_dim * 2 ** (self.num_layers - 1))
        self.mlp_ratio = mlp_ratio
        self.final_upsample = final_upsample
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim,
                                      norm_layer if patch_norm else None)
        res = self.patch_embed.patches_resolution
        self.patches_resolution = res
        if ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches, embed_dim))
            trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.pos_drop = nn.Dropout(p=drop_rate)
        rates = [r.item() for r in torch.linspace(0, drop_path_rate, sum(depths))]
        n = self.num_layers

        def stage_rates(stage):
            return rates[sum(depths[:stage]):sum(depths[:stage + 1])]

        self.layers = nn.ModuleList()
        for i in range(n):
            self.layers.append(BasicLayer(
                int(embed_dim * 2 ** i), (res[0] // 2 ** i, res[1] // 2 ** i), depths[i], num_heads[i],
                window_size, self.mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, stage_rates(i),
                norm_layer, PatchMerging if i < n - 1 else None, use_checkpoint))
        self.layers_up = nn.ModuleList()
        self.concat_back_dim = nn.ModuleList()
        for i in range(n):
            stage = n - 1 - i
            dim = int(embed_dim * 2 ** stage)
            resolution = (res[0] // 2 ** stage, res[1] // 2 ** stage)
            merge = nn.Linear(2 * dim, dim) if i > 0 else nn.Identity()
            if i == 0:
                up = PatchExpand(resolution, dim, 2, norm_layer)
            else:
                up = BasicLayer_up(dim, resolution, depths[stage], num_heads[stage], window_size, self.mlp_ratio,
                                   qkv_bias, qk_scale, drop_rate, attn_drop_rate, stage_rates(stage), norm_layer,
                                   PatchExpand if i < n - 1 else None, use_checkpoint)
            self.layers_up.append(up)
            self.concat_back_dim.append(merge)
        self.norm = norm_layer(self.num_features)
        self.norm_up = norm_layer(self.embed_dim)
        if final_upsample == "expand_first":
            self.up = FinalPatchExpand_X4((img_size // patch_size, img_size // patch_size), dim=embed_dim,
                                          dim_scale=4)
            self.output = nn.Conv2d(embed_dim, self.num_classes, kernel_size=1, bias=False)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def forward(self, x):
        x = self.patch_embed(x)
        if self.ape:
            x = x + self.absolute_pos_embed
        x = self.pos_drop(x)
        skips = []
        for layer in self.layers:
            skips.append(x)
            x = layer(x)
        x = self.norm(x)
        for i, layer_up in enumerate(self.layers_up):
            if i > 0:
                x = self.concat_back_dim[i](torch.cat([x, skips[3 - i]], -1))
            x = layer_up(x)
        x = self.norm_up(x)
        h, w = self.patches_resolution
        b, l, c = x.shape
        assert l == h * w
        if self.final_upsample == "expand_first":
            x = self.up(x).view(b, 4 * h, 4 * w, -1).permute(0, 3, 1, 2)
            x = self.output(x)
        return x


class SwinUnet(nn.Module):
    def __init__(self, config, img_size=224, num_classes=21843, zero_head=False, vis=False):
        super().__init__()
        self.num_classes = num_classes
        self.zero_head = zero_head
        self.config = config
        swin = config.MODEL.SWIN
        self.swin_unet = SwinTransformerSys(
            img_size=config.DATA.IMG_SIZE, patch_size=swin.PATCH_SIZE, in_chans=swin.IN_CHANS,
            num_classes=self.num_classes, embed_dim=swin.EMBED_DIM, depths=swin.DEPTHS,
            num_heads=swin.NUM_HEADS, window_size=swin.WINDOW_SIZE, mlp_ratio=swin.MLP_RATIO,
            qkv_bias=swin.QKV_BIAS, qk_scale=swin.QK_SCALE, drop_rate=config.MODEL.DROP_RATE,
            drop_path_rate=config.MODEL.DROP_PATH_RATE, ape=swin.APE, patch_norm=swin.PATCH_NORM,
            use_checkpoint=config.TRAIN.USE_CHECKPOINT)

    def forward(self, x):
        if x.size()[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        return self.swin_unet(x)


# ---- config and driver --------------------------------------------------------------------------------

def make_config(values):
    """The yacs tree get_config builds from swin_tiny_patch4_window7_224_lite.yaml, with overrides."""
    v = dict(IMG_SIZE=224, PATCH_SIZE=4, IN_CHANS=3, EMBED_DIM=96, DEPTHS=[2, 2, 2, 2],
             DECODER_DEPTHS=[2, 2, 2, 1], NUM_HEADS=[3, 6, 12, 24], WINDOW_SIZE=7, MLP_RATIO=4.0, QKV_BIAS=True,
             QK_SCALE=None, APE=False, PATCH_NORM=True, FINAL_UPSAMPLE="expand_first", DROP_RATE=0.0,
             DROP_PATH_RATE=0.2, USE_CHECKPOINT=False)
    v.update(values)
    swin = SimpleNamespace(**{k: v[k] for k in ("PATCH_SIZE", "IN_CHANS", "EMBED_DIM", "DEPTHS", "DECODER_DEPTHS",
                                                "NUM_HEADS", "WINDOW_SIZE", "MLP_RATIO", "QKV_BIAS", "QK_SCALE",
                                                "APE", "PATCH_NORM", "FINAL_UPSAMPLE")})
    model = SimpleNamespace(DROP_RATE=v["DROP_RATE"], DROP_PATH_RATE=v["DROP_PATH_RATE"], SWIN=swin)
    return SimpleNamespace(DATA=SimpleNamespace(IMG_SIZE=v["IMG_SIZE"]), MODEL=model,
                           TRAIN=SimpleNamespace(USE_CHECKPOINT=v["USE_CHECKPOINT"]))


@contextlib.contextmanager
def initialisation_skipped():
    """Builds without drawing any initial value: much faster for cases that only list keys, shapes and buffers."""
    global trunc_normal_
    saved = (nn.Linear.reset_parameters, nn.Conv2d.reset_parameters, trunc_normal_, SwinTransformerSys._init_weights)
    nn.Linear.reset_parameters = lambda self: None
    nn.Conv2d.reset_parameters = lambda self: None
    trunc_normal_ = lambda tensor, **kwargs: tensor
    SwinTransformerSys._init_weights = lambda self, m: None
    try:
        yield
    finally:
        nn.Linear.reset_parameters, nn.Conv2d.reset_parameters, trunc_normal_, SwinTransformerSys._init_weights = saved


def main(spec_text, out_dir):
    spec = json.loads(spec_text)
    for case in spec["cases"]:
        name = case["name"]
        torch.manual_seed(case.get("seed", 0))
        config = make_config(case.get("config", {}))
        if case.get("skip_init", False):
            with initialisation_skipped():
                net = SwinUnet(config, num_classes=case["num_classes"])
        else:
            net = SwinUnet(config, num_classes=case["num_classes"])
        noise = case.get("noise", 0.0)
        if noise > 0:
            with torch.no_grad():
                for p in net.parameters():
                    p.add_(torch.randn_like(p) * noise)
        state = net.state_dict()
        for key, t in state.items():
            print(name, key, str(t.dtype).replace("torch.", ""), ",".join(str(s) for s in t.shape), sep="\t")
        print(name, "#params", sum(p.numel() for p in net.parameters()), sep="\t")
        for module_name, m in net.named_modules():
            if isinstance(m, DropPath):
                print(name, "drop_path", module_name, repr(m.drop_prob), sep="\t")
        if case.get("load"):
            loaded = torch.load(case["load"], map_location="cpu")
            for key, b in net.named_buffers():
                same = key in loaded and loaded[key].dtype == b.dtype and torch.equal(loaded[key], b)
                print(name, "buffer", key, "same" if same else "differs", sep="\t")
            net.load_state_dict(loaded, strict=True)
        save = case.get("save")
        if save == "state":
            torch.save(net.state_dict(), os.path.join(out_dir, name + ".pth"))
        elif save == "buffers":
            torch.save(dict(net.named_buffers()), os.path.join(out_dir, name + ".buffers.pth"))
        if case.get("forward", False):
            size = config.DATA.IMG_SIZE
            x = torch.randn(case.get("batch", 1), case["in_channels"], size, size)
            net.eval()
            with torch.no_grad():
                y = net(x)
            torch.save({"input": x, "output": y}, os.path.join(out_dir, name + ".io.pth"))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
