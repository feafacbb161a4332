#version 330 core
// The overlay's RGBA text texture, drawn with alpha blending over the frame.
uniform sampler2D u_overlay;
in vec2 v_uv;
out vec4 f_color;

void main() {
    f_color = texture(u_overlay, v_uv);
}
