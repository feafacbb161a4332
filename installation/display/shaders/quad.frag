#version 330 core
// Shows one frame, or a mix of two, from either pixel layout (installation/render/frame.py):
//   packed: RGB8 texture, already in [0, 1];
//   planes: a texture array whose layers are the [C, H, W] float planes (C = 1 or 3), converted
//           here exactly like float_to_uint8() in installation/models/latents.py (the Python
//           rule, used by Frame.rgb8()): floor(clamp(x * 127.5 + 128, 0, 255)) / 255.
// QuadDrawer inserts `#define SLOT0 n` and `#define SLOT1 n` after the #version line, with n = 0
// (packed), 1 or 3 (planes), and SLOT1 = -1 when nothing is blended: one program per layout
// combination, because llvmpipe runs both sides of a branch and an all-layouts shader was ~7x
// slower there. Layers of an array never bleed into each other under LINEAR filtering.
// Alpha is forced to 1 so nothing blends with undefined alpha.
// Several outputs (installation/display/outputs.py): v_uv is the canvas point (x right, y down,
// fractions of the frame); u_region is the output's part of the canvas (x0, y0, x1, y1) and
// u_blend the width of each edge's soft-edge ramp (left, top, right, bottom; 0: hard edge). The
// ramp is linear in light, so the signal is multiplied by ramp^(1/gamma) (outputs.blend_factor).
// QuadDrawer also inserts `#define EDGE_BLEND 1` for an output with a blended edge, else 0.
#if SLOT0 == 0
uniform sampler2D u_image0;
#else
uniform sampler2DArray u_image0;
#endif
#if SLOT1 == 0
uniform sampler2D u_image1;
#elif SLOT1 > 0
uniform sampler2DArray u_image1;
#endif
#if SLOT1 >= 0
uniform float u_mix;  // 0: slot 0 only; 1: slot 1 only
#endif
uniform float u_level = 1.0;  // picture level: 1 as is, 0 black (blackout / fade)
#if EDGE_BLEND
uniform vec4 u_region;
uniform vec4 u_blend;
uniform float u_inv_gamma;
#endif
in vec2 v_uv;
out vec4 f_color;

vec3 planes_to_unit(vec3 x) {
    return floor(clamp(x * 127.5 + 128.0, 0.0, 255.0)) / 255.0;
}

vec3 read_packed(sampler2D image, vec2 uv) {
    return texture(image, uv).rgb;
}

vec3 read_gray(sampler2DArray image, vec2 uv) {  // grayscale model: replicated
    return planes_to_unit(vec3(texture(image, vec3(uv, 0.0)).r));
}

vec3 read_rgb(sampler2DArray image, vec2 uv) {
    float r = texture(image, vec3(uv, 0.0)).r;
    float g = texture(image, vec3(uv, 1.0)).r;
    float b = texture(image, vec3(uv, 2.0)).r;
    return planes_to_unit(vec3(r, g, b));
}

vec3 read0(vec2 uv) {
#if SLOT0 == 0
    return read_packed(u_image0, uv);
#elif SLOT0 == 1
    return read_gray(u_image0, uv);
#else
    return read_rgb(u_image0, uv);
#endif
}

#if SLOT1 >= 0
vec3 read1(vec2 uv) {
#if SLOT1 == 0
    return read_packed(u_image1, uv);
#elif SLOT1 == 1
    return read_gray(u_image1, uv);
#else
    return read_rgb(u_image1, uv);
#endif
}
#endif

#if EDGE_BLEND
float ramp(float distance, float width) {
    return width > 0.0 ? clamp(distance / width, 0.0, 1.0) : 1.0;
}

float blend_factor(vec2 uv) {  // 1 away from blended edges, exactly
    float weight = ramp(uv.x - u_region.x, u_blend.x) * ramp(uv.y - u_region.y, u_blend.y)
        * ramp(u_region.z - uv.x, u_blend.z) * ramp(u_region.w - uv.y, u_blend.w);
    return weight >= 1.0 ? 1.0 : pow(max(weight, 0.0), u_inv_gamma);
}
#endif

void main() {
#if SLOT1 >= 0
    vec3 rgb = mix(read0(v_uv), read1(v_uv), u_mix);
#else
    vec3 rgb = read0(v_uv);
#endif
#if EDGE_BLEND
    rgb *= blend_factor(v_uv);
#endif
    f_color = vec4(rgb * u_level, 1.0);
}
