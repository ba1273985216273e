#version 450
// A small Monte-Carlo path tracer for Kiln.Data.Scenes scenes (GpuScene packs them): spheres, axis-aligned boxes and a
// ground plane; diffuse surfaces (cosine-weighted bounces, throughput times albedo) and glossy ones (with probability
// gloss, a mirror bounce perturbed by roughness, throughput unchanged); emission gathered on every hit, the sky when a
// path escapes, at most MAX_BOUNCES bounces; pixel positions jittered. Linear HDR radiance averaged over spp paths.
// With GUIDES = 1 it also writes the denoiser's guides as the CPU tracer does: albedo averaged over the jittered first
// hits (light and sky clipped to [0, 1]) and the unit normal seen through the pixel centre, facing the camera (0 on sky).
// Bindings: 0 objects (6 vec4 each: kind/checker/gloss/roughness, A, B, albedo, emission, albedo2), 1 colour [3, H, W],
// 2 albedo [3, H, W], 3 normal [3, H, W] (1..3 written).  Specialization: 0 GUIDES.
// Push: width, height, spp, seed, count, tanHalfFov, 2 pad, eye, forward, right, up, horizon, zenith (vec4s).
// Dispatch: ceil(W / 8) x ceil(H / 8) groups of 8 x 8.
#include "kiln.glsl"
#include "realtime.glsl"
layout(constant_id = 0) const int GUIDES = 1;
layout(std430, binding = 0) readonly buffer Objects { vec4 obj[]; };
layout(std430, binding = 1) writeonly buffer Colour { float colour[]; };
layout(std430, binding = 2) writeonly buffer Albedo { float albedo[]; };
layout(std430, binding = 3) writeonly buffer Normal { float normal[]; };
layout(push_constant) uniform P
{
    uint width; uint height; uint spp; uint seed; uint count; float tanHalfFov; float pad0; float pad1;
    vec4 eye; vec4 forward; vec4 right; vec4 up; vec4 horizon; vec4 zenith;
} p;

const int MAX_BOUNCES = 4;
const float EPS = 1e-4;
const float INF = 1e30;

float intersect(int i, vec3 o, vec3 d)
{
    int kind = int(obj[6 * i].x);
    vec3 a = obj[6 * i + 1].xyz, b = obj[6 * i + 2].xyz;
    if (kind == 0)
    {
        vec3 oc = o - a;
        float bb = dot(oc, d), c = dot(oc, oc) - b.x * b.x, disc = bb * bb - c;
        if (disc < 0.0) return INF;
        float s = sqrt(disc), t = -bb - s;
        if (t > EPS) return t;
        t = -bb + s;
        return t > EPS ? t : INF;
    }
    if (kind == 1)
    {
        vec3 inv = 1.0 / d;
        vec3 t0 = (a - o) * inv, t1 = (b - o) * inv;
        vec3 n = min(t0, t1), f = max(t0, t1);
        float tn = max(max(n.x, n.y), n.z), tf = min(min(f.x, f.y), f.z);
        if (tn > tf || tf <= EPS) return INF;
        return tn > EPS ? tn : tf;
    }
    if (abs(d.y) < 1e-8) return INF;
    float t = -o.y / d.y;
    return t > EPS ? t : INF;
}

vec3 normalAt(int i, vec3 q)
{
    int kind = int(obj[6 * i].x);
    vec3 a = obj[6 * i + 1].xyz, b = obj[6 * i + 2].xyz;
    if (kind == 0) return normalize(q - a);
    if (kind == 1)
    {
        vec3 r = (q - (a + b) * 0.5) / ((b - a) * 0.5), s = abs(r);
        if (s.x >= s.y && s.x >= s.z) return vec3(sign(r.x), 0, 0);
        if (s.y >= s.z) return vec3(0, sign(r.y), 0);
        return vec3(0, 0, sign(r.z));
    }
    return vec3(0, 1, 0);
}

vec3 albedoAt(int i, vec3 q)
{
    bool checker = obj[6 * i].y > 0.5;
    if (checker && ((int(floor(q.x)) + int(floor(q.z))) & 1) == 1) return obj[6 * i + 5].xyz;
    return obj[6 * i + 3].xyz;
}

int hit(vec3 o, vec3 d, out float best)
{
    best = INF;
    int index = -1;
    for (int i = 0; i < int(p.count); i++)
    {
        float t = intersect(i, o, d);
        if (t < best) { best = t; index = i; }
    }
    return index;
}

vec3 sky(vec3 d) { return mix(p.horizon.xyz, p.zenith.xyz, clamp(d.y, 0.0, 1.0)); }

vec3 cameraRay(vec2 px)
{
    float aspect = float(p.width) / float(p.height);
    float sx = (2.0 * px.x / float(p.width) - 1.0) * p.tanHalfFov * aspect, sy = (1.0 - 2.0 * px.y / float(p.height)) * p.tanHalfFov;
    return normalize(p.forward.xyz + sx * p.right.xyz + sy * p.up.xyz);
}

vec3 cosineSample(vec3 n, inout uint rng)
{
    float u = rt_random(rng), v = rt_random(rng);
    float r = sqrt(u), phi = 6.28318530718 * v;
    vec3 t = normalize(abs(n.x) > 0.5 ? cross(n, vec3(0, 1, 0)) : cross(n, vec3(1, 0, 0)));
    vec3 b = cross(n, t);
    return normalize(r * cos(phi) * t + r * sin(phi) * b + sqrt(max(0.0, 1.0 - u)) * n);
}

vec3 radiance(vec3 o, vec3 d, inout uint rng)
{
    vec3 sum = vec3(0), throughput = vec3(1);
    for (int bounce = 0; bounce <= MAX_BOUNCES; bounce++)
    {
        float t;
        int i = hit(o, d, t);
        if (i < 0) { sum += throughput * sky(d); break; }
        sum += throughput * obj[6 * i + 4].xyz;
        if (bounce == MAX_BOUNCES) break;
        vec3 q = o + t * d, n = normalAt(i, q);
        if (dot(n, d) > 0.0) n = -n;
        float gloss = obj[6 * i].z, roughness = obj[6 * i].w;
        if (rt_random(rng) < gloss)
        {
            vec3 jitter = vec3(rt_random(rng), rt_random(rng), rt_random(rng)) * 2.0 - 1.0;
            vec3 r = normalize(reflect(d, n) + roughness * jitter);
            if (dot(r, n) <= 0.0) break;
            d = r;
        }
        else
        {
            throughput *= albedoAt(i, q);
            d = cosineSample(n, rng);
        }
        if (max(throughput.x, max(throughput.y, throughput.z)) <= 0.0) break;
        o = q;
    }
    return sum;
}

void main()
{
    uvec2 g = gl_GlobalInvocationID.xy;
    if (g.x >= p.width || g.y >= p.height) return;
    uint plane = p.width * p.height, i = g.y * p.width + g.x;
    uint rng = rt_pcg(i * 9781u + rt_pcg(p.seed));
    vec3 eye = p.eye.xyz, sum = vec3(0), guide = vec3(0);
    for (uint s = 0u; s < p.spp; s++)
    {
        vec3 d = cameraRay(vec2(g) + vec2(rt_random(rng), rt_random(rng)));
        if (GUIDES == 1)
        {
            float t;
            int k = hit(eye, d, t);
            if (k < 0) guide += clamp(sky(d), 0.0, 1.0);
            else if (any(greaterThan(obj[6 * k + 4].xyz, vec3(0)))) guide += clamp(obj[6 * k + 4].xyz, 0.0, 1.0);
            else guide += albedoAt(k, eye + t * d);
        }
        sum += radiance(eye, d, rng);
    }
    sum /= float(max(p.spp, 1u));
    colour[i] = sum.r; colour[plane + i] = sum.g; colour[2u * plane + i] = sum.b;
    if (GUIDES == 1)
    {
        guide /= float(max(p.spp, 1u));
        vec3 dc = cameraRay(vec2(g) + 0.5), n = vec3(0);
        float t;
        int k = hit(eye, dc, t);
        if (k >= 0)
        {
            n = normalAt(k, eye + t * dc);
            if (dot(n, dc) > 0.0) n = -n;
        }
        albedo[i] = guide.r; albedo[plane + i] = guide.g; albedo[2u * plane + i] = guide.b;
        normal[i] = n.x; normal[plane + i] = n.y; normal[2u * plane + i] = n.z;
    }
}
