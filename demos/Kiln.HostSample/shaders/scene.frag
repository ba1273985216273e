#version 450
// The host sample's scene: a ground plane, three spheres and two boxes lit by a sun (with shadows) and a sky,
// seen from a camera that orbits with time. Writes the noisy colour (one jittered shadow ray per pixel plus
// per-pixel grain: something for the denoiser to do), the albedo and the normal: the denoiser's three inputs.
layout(location = 0) in vec2 ndc;
layout(location = 0) out vec4 outColor;
layout(location = 1) out vec4 outAlbedo;
layout(location = 2) out vec4 outNormal;

layout(push_constant) uniform Frame
{
    float time;
    float aspect;
    float noise;
    uint frame;
} pc;

const vec3 sunDir = normalize(vec3(0.6, 0.8, 0.3));

uint hash(uint x)
{
    x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
    return x;
}

float rand(inout uint state)
{
    state = hash(state);
    return float(state) / 4294967295.0;
}

float sphere(vec3 ro, vec3 rd, vec3 c, float r)
{
    vec3 oc = ro - c;
    float b = dot(oc, rd), h = b * b - dot(oc, oc) + r * r;
    if (h < 0.0) return -1.0;
    float t = -b - sqrt(h);
    return t > 1e-3 ? t : -1.0;
}

float box(vec3 ro, vec3 rd, vec3 c, vec3 extent, out vec3 n)
{
    vec3 m = 1.0 / rd, o = ro - c;
    vec3 k = abs(m) * extent, t1 = -m * o - k, t2 = -m * o + k;
    float tn = max(max(t1.x, t1.y), t1.z), tf = min(min(t2.x, t2.y), t2.z);
    if (tn > tf || tf < 0.0 || tn < 1e-3) return -1.0;
    n = -sign(rd) * step(t1.yzx, t1.xyz) * step(t1.zxy, t1.xyz);
    return tn;
}

// The nearest hit: distance (or -1), normal and albedo.
float trace(vec3 ro, vec3 rd, out vec3 n, out vec3 albedo)
{
    float best = 1e9;
    n = vec3(0.0); albedo = vec3(0.0);
    float t = rd.y < 0.0 ? -ro.y / rd.y : -1.0;
    if (t > 1e-3 && t < best)
    {
        best = t; n = vec3(0.0, 1.0, 0.0);
        vec3 p = ro + rd * t;
        float checker = mod(floor(p.x) + floor(p.z), 2.0);
        albedo = mix(vec3(0.75), vec3(0.35), checker);
    }
    vec3 centers[3] = vec3[](vec3(-1.6, 0.7, 0.0), vec3(0.0, 1.0, 0.4), vec3(1.7, 0.5, -0.5));
    float radii[3] = float[](0.7, 1.0, 0.5);
    vec3 colors[3] = vec3[](vec3(0.9, 0.2, 0.15), vec3(0.2, 0.6, 0.9), vec3(0.95, 0.8, 0.2));
    for (int i = 0; i < 3; i++)
    {
        t = sphere(ro, rd, centers[i], radii[i]);
        if (t > 0.0 && t < best) { best = t; n = normalize(ro + rd * t - centers[i]); albedo = colors[i]; }
    }
    vec3 bn;
    t = box(ro, rd, vec3(0.9, 0.4, 1.8), vec3(0.4), bn);
    if (t > 0.0 && t < best) { best = t; n = bn; albedo = vec3(0.3, 0.85, 0.35); }
    t = box(ro, rd, vec3(-0.8, 0.3, -1.7), vec3(0.6, 0.3, 0.3), bn);
    if (t > 0.0 && t < best) { best = t; n = bn; albedo = vec3(0.8, 0.4, 0.9); }
    return best < 1e9 ? best : -1.0;
}

void main()
{
    float angle = pc.time * 0.5;
    vec3 eye = vec3(6.0 * sin(angle), 2.5 + 0.5 * sin(pc.time * 0.3), 6.0 * cos(angle));
    vec3 forward = normalize(vec3(0.0, 0.6, 0.0) - eye);
    vec3 right = normalize(cross(forward, vec3(0.0, 1.0, 0.0)));
    vec3 up = cross(right, forward);
    // Vulkan's framebuffer y points down: ndc.y = -1 is the top row.
    vec3 rd = normalize(forward * 1.8 + right * ndc.x * pc.aspect - up * ndc.y);

    uint state = hash(uint(gl_FragCoord.x) + 4096u * uint(gl_FragCoord.y)) ^ hash(pc.frame * 0x9e3779b9u + 1u);
    vec3 n, albedo;
    float t = trace(eye, rd, n, albedo);
    vec3 color;
    if (t < 0.0)
    {
        color = mix(vec3(0.8, 0.85, 0.95), vec3(0.35, 0.55, 0.9), clamp(rd.y * 2.0, 0.0, 1.0));
        albedo = color;
        n = -rd;
    }
    else
    {
        vec3 p = eye + rd * t + n * 2e-3;
        // One shadow ray towards a random point of the sun's disc: soft shadows, noisy with one sample.
        vec3 jitter = (vec3(rand(state), rand(state), rand(state)) - 0.5) * 0.35;
        vec3 l = normalize(sunDir + jitter);
        vec3 sn, sa;
        float lit = trace(p, l, sn, sa) < 0.0 ? 1.0 : 0.0;
        float diffuse = max(dot(n, l), 0.0) * lit;
        float sky = 0.5 + 0.5 * n.y;
        color = albedo * (vec3(1.0, 0.95, 0.85) * diffuse * 0.9 + vec3(0.35, 0.45, 0.6) * sky * 0.5);
    }
    color += (rand(state) - 0.5) * pc.noise;
    outColor = vec4(max(color, vec3(0.0)), 1.0);
    outAlbedo = vec4(albedo, 1.0);
    outNormal = vec4(n, 1.0);
}
