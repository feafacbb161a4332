#version 330 core
// Attribute-less fullscreen triangle: draw 3 vertices with no buffers; gl_VertexID 0, 1, 2 gives
// clip-space corners (-1,-1), (3,-1), (-1,3), which cover the viewport once.
//
// The flip happens here, once: numpy row 0 (the image's top) is uploaded first and lands at
// texture v = 0, which GL treats as the bottom, so the top of the viewport samples v = 0.
out vec2 v_uv;

void main() {
    vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));  // (0,0) (2,0) (0,2)
    v_uv = vec2(corner.x, 1.0 - corner.y);
    gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}
