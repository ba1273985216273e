namespace Kiln.Cli.Viewer;

/// <summary>The browser viewer's page: a canvas showing the frames, a brush on the first panel, controls and a HUD.</summary>
internal static class ViewerPage
{
    public const string Html = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Kiln real-time demo</title>
        <style>
          body { background: #1b1b1f; color: #ddd; font: 14px system-ui, sans-serif; margin: 16px; }
          canvas { image-rendering: pixelated; border: 1px solid #444; cursor: crosshair; }
          #hud { font-family: monospace; margin: 8px 0; white-space: pre; }
          label { margin-right: 16px; }
        </style></head>
        <body>
        <h3 id="title">Kiln</h3>
        <canvas id="view" width="16" height="16"></canvas>
        <div>
          <label>brush <input id="brush" type="range" min="1" max="32" value="4"></label>
          <label><input id="train" type="checkbox" checked> training</label>
          <button id="clear">clear mask</button>
          <label>zoom <input id="zoom" type="range" min="1" max="6" value="3"></label>
        </div>
        <div id="hud">connecting...</div>
        <div id="error" style="color:#f88"></div>
        <script>
        const canvas = document.getElementById('view'), ctx = canvas.getContext('2d');
        const hud = document.getElementById('hud'), errorBox = document.getElementById('error');
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.binaryType = 'arraybuffer';
        let info = null, frames = 0, last = performance.now(), fps = 0, painting = false, pending = [];
        const zoom = () => +document.getElementById('zoom').value;
        function resize() { if (info) { canvas.style.width = (info.width * zoom()) + 'px'; canvas.style.height = (info.height * zoom()) + 'px'; } }
        document.getElementById('zoom').oninput = resize;
        ws.onmessage = ev => {
          if (typeof ev.data === 'string') {
            const m = JSON.parse(ev.data);
            if (m.type === 'hello') { info = m; canvas.width = m.width; canvas.height = m.height; resize();
              document.getElementById('title').textContent = `Kiln: ${m.demo}`; }
            else if (m.type === 'stats') {
              const stages = Object.entries(m.stage_gpu_ms).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('  ');
              const metrics = Object.entries(m.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ');
              hud.textContent = `frame ${m.frame}  ${fps.toFixed(1)} fps shown  ${m.frame_ms.toFixed(1)} ms\nGPU ms: ${stages}\n${metrics}`;
            }
            else if (m.type === 'error') errorBox.textContent = m.message;
            return;
          }
          const view = new DataView(ev.data), w = view.getUint32(4, true), h = view.getUint32(8, true);
          ctx.putImageData(new ImageData(new Uint8ClampedArray(ev.data, 12, w * h * 4), w, h), 0, 0);
          frames++;
          const now = performance.now();
          if (now - last > 1000) { fps = frames * 1000 / (now - last); frames = 0; last = now; }
        };
        function point(ev) {
          const r = canvas.getBoundingClientRect();
          const x = (ev.clientX - r.left) / r.width * info.width, y = (ev.clientY - r.top) / r.height * info.height;
          return (x >= 0 && x < info.paint_width && y >= 0 && y < info.paint_height) ? [x, y] : null;
        }
        function flush() {
          if (pending.length && ws.readyState === 1)
            ws.send(JSON.stringify({ type: 'stroke', points: pending.splice(0, 64), radius: +document.getElementById('brush').value }));
        }
        setInterval(flush, 33);
        canvas.onmousedown = ev => { if (info && info.paint_width) { painting = true; const p = point(ev); if (p) pending.push(p); } };
        canvas.onmousemove = ev => { if (painting) { const p = point(ev); if (p) pending.push(p); if (pending.length >= 64) flush(); } };
        window.onmouseup = () => { painting = false; flush(); };
        document.getElementById('clear').onclick = () => ws.send(JSON.stringify({ type: 'clear' }));
        document.getElementById('train').onchange = ev => ws.send(JSON.stringify({ type: 'training', on: ev.target.checked }));
        ws.onclose = () => hud.textContent += '\n(disconnected)';
        </script>
        </body></html>
        """;
}
