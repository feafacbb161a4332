#version 330 core
// Attribute-less fullscreen triangle: draw 3 vertices with no buffers; gl_VertexID 0, 1, 2 gives
// clip-space corners (-1,-1), (3,-1), (-1,3), which cover the viewport once.
//
// u_uv_offset/u_uv_scale pick the part of the image the viewport shows, in GL viewport
// coordinates (y up): (0, 0)/(1, 1) shows all of it; the "fill" fit crops through them.
//
// The flip happens here, once: numpy row 0 (the image's top) is uploaded first and lands at
// texture v = 0, which GL treats as the bottom, so the top of the viewport samples v = 0.
uniform vec2 u_uv_offset;
uniform vec2 u_uv_scale;
out vec2 v_uv;

void main() {
    vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));  // (0,0) (2,0) (0,2)
    vec2 p = u_uv_offset + corner * u_uv_scale;
    v_uv = vec2(p.x, 1.0 - p.y);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
