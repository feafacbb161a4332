#version 330 core
// Shows the frame texture; alpha is forced to 1 so nothing blends with undefined alpha.
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 f_color;

void main() {
    f_color = vec4(texture(u_image, v_uv).rgb, 1.0);
}
