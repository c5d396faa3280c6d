// China's map coordinate systems, the math of dispatch/coords.py: WGS-84 (stored), GCJ-02
// (Amap, Tencent), BD-09 (Baidu). Every function takes and returns [lat, lon].
const A = 6378245.0;
const EE = 0.00669342162296594323;
const X_PI = (Math.PI * 3000.0) / 180.0;
const TOLERANCE = 1e-11;

export function inChina(lat, lon) {
  return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
}

function offsetLat(x, y) {
  let out = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  out += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  out += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  out += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320.0 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return out;
}

function offsetLon(x, y) {
  let out = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  out += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  out += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  out += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return out;
}

export function wgs84ToGcj02(lat, lon) {
  if (!inChina(lat, lon)) return [lat, lon];
  let dlat = offsetLat(lon - 105.0, lat - 35.0);
  let dlon = offsetLon(lon - 105.0, lat - 35.0);
  const rad = (lat / 180.0) * Math.PI;
  const magic = 1.0 - EE * Math.sin(rad) ** 2;
  const sqrtMagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / (((A * (1.0 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dlon = (dlon * 180.0) / ((A / sqrtMagic) * Math.cos(rad) * Math.PI);
  return [lat + dlat, lon + dlon];
}

export function gcj02ToBd09(lat, lon) {
  const z = Math.hypot(lon, lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
  return [z * Math.sin(theta) + 0.006, z * Math.cos(theta) + 0.0065];
}

function invert(forward, lat, lon, guess) {
  let [gLat, gLon] = guess;
  for (let i = 0; i < 50; i += 1) {
    const [fLat, fLon] = forward(gLat, gLon);
    const rLat = fLat - lat;
    const rLon = fLon - lon;
    if (Math.abs(rLat) < TOLERANCE && Math.abs(rLon) < TOLERANCE) break;
    gLat -= rLat;
    gLon -= rLon;
  }
  return [gLat, gLon];
}

export function gcj02ToWgs84(lat, lon) {
  if (!inChina(lat, lon)) return [lat, lon];
  return invert(wgs84ToGcj02, lat, lon, [lat, lon]);
}

export function bd09ToGcj02(lat, lon) {
  const x = lon - 0.0065;
  const y = lat - 0.006;
  const z = Math.hypot(x, y) - 0.00002 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  return invert(gcj02ToBd09, lat, lon, [z * Math.sin(theta), z * Math.cos(theta)]);
}

export function wgs84ToBd09(lat, lon) {
  return gcj02ToBd09(...wgs84ToGcj02(lat, lon));
}

export function bd09ToWgs84(lat, lon) {
  return gcj02ToWgs84(...bd09ToGcj02(lat, lon));
}

// A stored (WGS-84) point as a map layer of `system` draws it; never stored converted.
export function forDisplay(lat, lon, system) {
  if (system === "gcj02") return wgs84ToGcj02(lat, lon);
  if (system === "bd09") return wgs84ToBd09(lat, lon);
  return [lat, lon];
}
