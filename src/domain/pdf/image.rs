//! The company logo as a PDF image: a JPEG passes through as it is (DCTDecode); a PNG's
//! compressed data passes through with PNG predictors when it has no transparency, and is
//! inflated, unfiltered and split into colour and an alpha soft mask when it has (most logos
//! do). Anything else, or anything malformed, is `None`: the document goes out without a logo.

use miniz_oxide::inflate::decompress_to_vec_zlib_with_limit;

use super::lzw;

/// The largest side accepted, in pixels: a logo is printed a few centimetres wide.
const MAX_SIDE: u32 = 4_000;
/// The most decoded bytes a PNG may take (a 2000 × 2000 RGBA logo), so a small file that
/// inflates to gigabytes is refused rather than exhausting the Worker's memory.
const MAX_DECODED: usize = 16 * 1024 * 1024;

/// The colours of a logo's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Colors {
    Gray,
    Rgb,
    /// Adobe's JPEGs store CMYK inverted (APP14), which a `Decode` array undoes.
    Cmyk {
        inverted: bool,
    },
    /// PNG palette: `entries` RGB triples.
    Indexed {
        palette: Vec<u8>,
    },
}

impl Colors {
    /// Components per sample in the stream.
    pub fn components(&self) -> u8 {
        match self {
            Colors::Gray | Colors::Indexed { .. } => 1,
            Colors::Rgb => 3,
            Colors::Cmyk { .. } => 4,
        }
    }
}

/// How the samples are encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// A JPEG file, whole.
    Dct,
    /// A PNG's own zlib data, each row starting with its filter byte (DecodeParms
    /// /Predictor 15).
    PngRows,
    /// Samples compressed by [`lzw::compress`].
    Lzw,
}

/// A logo ready to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub width: u32,
    pub height: u32,
    pub bits: u8,
    pub colors: Colors,
    pub encoding: Encoding,
    pub data: Vec<u8>,
    /// The alpha channel: 8-bit grey, one byte per pixel, LZW-compressed.
    pub alpha: Option<Vec<u8>>,
}

impl Logo {
    /// A PNG or JPEG logo, told apart by its signature; `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Logo> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            png(bytes)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            jpeg(bytes)
        } else {
            None
        }
    }
}

fn sides_ok(width: u32, height: u32) -> bool {
    (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height)
}

/// Width, height and components from the first start-of-frame marker; Adobe's APP14 marks
/// inverted CMYK.
fn jpeg(bytes: &[u8]) -> Option<Logo> {
    let mut at = 2;
    let mut adobe = false;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        if bytes.get(at) != Some(&0xFF) {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let segment = bytes.get(at + 4..at + 2 + length)?;
        match marker {
            0xEE if segment.starts_with(b"Adobe") => adobe = true,
            // SOF0–SOF15, but DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let precision = *segment.first()?;
                let height = u32::from(u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?]));
                let width = u32::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]));
                let colors = match segment.get(5)? {
                    1 => Colors::Gray,
                    3 => Colors::Rgb,
                    4 => Colors::Cmyk { inverted: adobe },
                    _ => return None,
                };
                if precision != 8 || !sides_ok(width, height) {
                    return None;
                }
                return Some(Logo {
                    width,
                    height,
                    bits: 8,
                    colors,
                    encoding: Encoding::Dct,
                    data: bytes.to_vec(),
                    alpha: None,
                });
            }
            // Start of scan before any frame: not a JPEG we can read.
            0xDA | 0xD9 => return None,
            _ => {}
        }
        at += 2 + length;
    }
}

struct Header {
    width: u32,
    height: u32,
    bits: u8,
    color_type: u8,
}

/// A PNG's chunks that matter here.
struct Chunks<'a> {
    header: Header,
    palette: Option<&'a [u8]>,
    trns: Option<&'a [u8]>,
    /// The IDAT chunks, joined.
    data: Vec<u8>,
}

fn png_chunks(bytes: &[u8]) -> Option<Chunks<'_>> {
    let mut at = 8;
    let mut header = None;
    let (mut palette, mut trns) = (None, None);
    let mut data = Vec::new();
    loop {
        let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(at + 4..at + 8)?;
        let body = bytes.get(at + 8..(at + 8).checked_add(length)?)?;
        match kind {
            b"IHDR" if body.len() == 13 => {
                let width = u32::from_be_bytes(body[0..4].try_into().ok()?);
                let height = u32::from_be_bytes(body[4..8].try_into().ok()?);
                // Compression 0, filter 0, no interlacing (Adam7 rows cannot pass through,
                // and logos are rarely interlaced).
                if body[10] != 0 || body[11] != 0 || body[12] != 0 {
                    return None;
                }
                header = Some(Header {
                    width,
                    height,
                    bits: body[8],
                    color_type: body[9],
                });
            }
            b"PLTE" => palette = Some(body),
            b"tRNS" => trns = Some(body),
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        // Length, type, body, CRC.
        at = at.checked_add(12 + length)?;
    }
    Some(Chunks {
        header: header?,
        palette,
        trns,
        data,
    })
}

fn png(bytes: &[u8]) -> Option<Logo> {
    let Chunks {
        header,
        palette,
        trns,
        data,
    } = png_chunks(bytes)?;
    let Header {
        width,
        height,
        bits,
        color_type,
    } = header;
    if !sides_ok(width, height) || data.is_empty() {
        return None;
    }
    let plain = |colors: Colors| Logo {
        width,
        height,
        bits,
        colors,
        encoding: Encoding::PngRows,
        data: data.clone(),
        alpha: None,
    };
    match (color_type, bits, trns) {
        // Grey and RGB without transparency: the IDAT stream is already a PDF Flate stream
        // with PNG predictors.
        (0, 1 | 2 | 4 | 8 | 16, None) => Some(plain(Colors::Gray)),
        (2, 8 | 16, None) => Some(plain(Colors::Rgb)),
        (3, 1 | 2 | 4 | 8, None) => {
            let palette = palette?;
            (palette.len() % 3 == 0 && !palette.is_empty() && palette.len() <= 768).then(|| {
                plain(Colors::Indexed {
                    palette: palette.to_vec(),
                })
            })
        }
        // Alpha (grey or RGB with alpha, or a palette with transparency): decode, split.
        (4 | 6, 8, None) | (3, 8, Some(_)) => split_alpha(&header, palette, trns, &data),
        _ => None,
    }
}

/// Inflates and unfilters 8-bit samples, then compresses the colour (grey or RGB) and the
/// alpha as two LZW streams.
fn split_alpha(
    header: &Header,
    palette: Option<&[u8]>,
    trns: Option<&[u8]>,
    data: &[u8],
) -> Option<Logo> {
    let channels: usize = match header.color_type {
        3 => 1,
        4 => 2,
        _ => 4,
    };
    let (width, height) = (header.width as usize, header.height as usize);
    let stride = width * channels;
    let expected = (stride + 1) * height;
    if expected > MAX_DECODED {
        return None;
    }
    let raw = decompress_to_vec_zlib_with_limit(data, expected).ok()?;
    if raw.len() != expected {
        return None;
    }
    let pixels = unfilter(&raw, stride, channels, height)?;
    let (colors, color_channels) = match header.color_type {
        4 => (Colors::Gray, 1),
        _ => (Colors::Rgb, 3),
    };
    let mut color = Vec::with_capacity(width * height * color_channels);
    let mut alpha = Vec::with_capacity(width * height);
    match header.color_type {
        3 => {
            let palette = palette?;
            let trns = trns.unwrap_or_default();
            for &index in &pixels {
                let i = usize::from(index);
                color.extend_from_slice(palette.get(3 * i..3 * i + 3)?);
                alpha.push(trns.get(i).copied().unwrap_or(255));
            }
        }
        _ => {
            for pixel in pixels.chunks_exact(channels) {
                color.extend_from_slice(&pixel[..channels - 1]);
                alpha.push(pixel[channels - 1]);
            }
        }
    }
    // Fully opaque after all: no soft mask.
    let alpha = (!alpha.iter().all(|&a| a == 255)).then(|| lzw::compress(&alpha));
    Some(Logo {
        width: header.width,
        height: header.height,
        bits: 8,
        colors,
        encoding: Encoding::Lzw,
        data: lzw::compress(&color),
        alpha,
    })
}

/// PNG scanlines (a filter byte, then `stride` bytes each) back to samples.
fn unfilter(raw: &[u8], stride: usize, bpp: usize, height: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; stride * height];
    for y in 0..height {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let (filter, line) = (line[0], &line[1..]);
        let (done, rest) = out.split_at_mut(y * stride);
        let previous = if y == 0 {
            None
        } else {
            Some(&done[(y - 1) * stride..])
        };
        let current = &mut rest[..stride];
        for x in 0..stride {
            let a = if x >= bpp { current[x - bpp] } else { 0 };
            let b = previous.map_or(0, |p| p[x]);
            let c = if x >= bpp {
                previous.map_or(0, |p| p[x - bpp])
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                _ => return None,
            };
            current[x] = line[x].wrapping_add(predicted);
        }
    }
    Some(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::pdf::lzw::tests::decompress;
    use miniz_oxide::deflate::compress_to_vec_zlib;

    fn chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        // The CRC is not checked by the reader; zeros do.
        out.extend_from_slice(&[0; 4]);
    }

    /// A `width` × `height` PNG of `color_type` from unfiltered rows of `pixel` bytes each,
    /// filtered with Sub, Up, Average and Paeth in turn so every filter is decoded.
    pub(crate) fn png_file(width: u32, height: u32, color_type: u8, pixels: &[u8]) -> Vec<u8> {
        let channels = match color_type {
            0 | 3 => 1,
            4 => 2,
            2 => 3,
            _ => 4,
        };
        let stride = width as usize * channels;
        let mut raw = Vec::new();
        for y in 0..height as usize {
            let filter = (y % 5) as u8;
            raw.push(filter);
            let row = &pixels[y * stride..(y + 1) * stride];
            let prev = (y > 0).then(|| &pixels[(y - 1) * stride..y * stride]);
            for x in 0..stride {
                let a = if x >= channels { row[x - channels] } else { 0 };
                let b = prev.map_or(0, |p| p[x]);
                let c = if x >= channels {
                    prev.map_or(0, |p| p[x - channels])
                } else {
                    0
                };
                let predicted = match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => paeth(a, b, c),
                };
                raw.push(row[x].wrapping_sub(predicted));
            }
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, color_type, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        if color_type == 3 {
            chunk(&mut out, b"PLTE", &[255, 0, 0, 0, 0, 255]);
            chunk(&mut out, b"tRNS", &[0]);
        }
        let compressed = compress_to_vec_zlib(&raw, 6);
        // Split across two IDAT chunks, as encoders do.
        let half = compressed.len() / 2;
        chunk(&mut out, b"IDAT", &compressed[..half]);
        chunk(&mut out, b"IDAT", &compressed[half..]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A baseline JPEG's first segments: SOI, APP0, SOF0 and (not read) the rest.
    pub(crate) fn jpeg_file(width: u16, height: u16, components: u8) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xC0]);
        out.extend_from_slice(&(8 + 3 * u16::from(components)).to_be_bytes());
        out.push(8);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.push(components);
        for id in 1..=components {
            out.extend_from_slice(&[id, 0x11, 0]);
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn a_jpeg_passes_through_with_its_size_and_colours_from_the_frame_header() {
        let file = jpeg_file(320, 120, 3);
        let logo = Logo::from_bytes(&file).unwrap();
        assert_eq!((logo.width, logo.height, logo.bits), (320, 120, 8));
        assert_eq!(logo.colors, Colors::Rgb);
        assert_eq!(logo.encoding, Encoding::Dct);
        assert_eq!(logo.data, file);
        assert_eq!(
            Logo::from_bytes(&jpeg_file(10, 10, 1)).unwrap().colors,
            Colors::Gray
        );
    }

    #[test]
    fn an_adobe_cmyk_jpeg_is_marked_inverted() {
        let mut file = vec![0xFF, 0xD8, 0xFF, 0xEE, 0, 14];
        file.extend_from_slice(b"Adobe\0\x64\0\0\0\0\x02");
        file.extend_from_slice(&jpeg_file(40, 20, 4)[2..]);
        let logo = Logo::from_bytes(&file).unwrap();
        assert_eq!(logo.colors, Colors::Cmyk { inverted: true });
        assert_eq!(
            Logo::from_bytes(&jpeg_file(40, 20, 4)).unwrap().colors,
            Colors::Cmyk { inverted: false }
        );
    }

    #[test]
    fn an_rgba_png_is_split_into_colour_and_an_alpha_soft_mask() {
        let (w, h) = (7u32, 6u32);
        let pixels: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                [
                    (i * 9) as u8,
                    (i * 3) as u8,
                    200,
                    if i % 2 == 0 { 255 } else { (i * 5) as u8 },
                ]
            })
            .collect();
        let logo = Logo::from_bytes(&png_file(w, h, 6, &pixels)).unwrap();
        assert_eq!(
            (logo.width, logo.height, logo.colors.clone()),
            (w, h, Colors::Rgb)
        );
        assert_eq!(logo.encoding, Encoding::Lzw);
        let color = decompress(&logo.data);
        let alpha = decompress(&logo.alpha.unwrap());
        let want_color: Vec<u8> = pixels.chunks(4).flat_map(|p| p[..3].to_vec()).collect();
        let want_alpha: Vec<u8> = pixels.chunks(4).map(|p| p[3]).collect();
        assert_eq!(color, want_color);
        assert_eq!(alpha, want_alpha);
    }

    #[test]
    fn a_palette_png_with_transparency_becomes_rgb_and_alpha() {
        let logo = Logo::from_bytes(&png_file(3, 2, 3, &[0, 1, 1, 0, 1, 0])).unwrap();
        let color = decompress(&logo.data);
        let alpha = decompress(&logo.alpha.unwrap());
        assert_eq!(&color[..6], &[255, 0, 0, 0, 0, 255]);
        assert_eq!(alpha, [0, 255, 255, 0, 255, 0]);
    }

    #[test]
    fn an_opaque_rgb_png_passes_through_with_png_predictors() {
        let pixels: Vec<u8> = (0..4 * 3 * 3).map(|i| i as u8).collect();
        let file = png_file(4, 3, 2, &pixels);
        let logo = Logo::from_bytes(&file).unwrap();
        assert_eq!(logo.encoding, Encoding::PngRows);
        assert_eq!(logo.alpha, None);
        // The two IDAT chunks, joined.
        assert!(miniz_oxide::inflate::decompress_to_vec_zlib(&logo.data).is_ok());
    }

    #[test]
    fn anything_else_is_no_logo() {
        let mut truncated = png_file(4, 4, 6, &[9; 64]);
        truncated.truncate(40);
        let mut huge = jpeg_file(10, 10, 3);
        huge[13 + 12] = 0xFF; // height high byte (65 000+ px)
        let cases: [&[u8]; 7] = [
            b"",
            b"GIF89a",
            b"\x89PNG\r\n\x1a\n",
            &truncated,
            &[0xFF, 0xD8, 0xFF],
            &[0xFF, 0xD8, 0xFF, 0xC0, 0xFF, 0xFF],
            &huge,
        ];
        for case in cases {
            assert_eq!(Logo::from_bytes(case), None, "{case:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_bytes_make_the_logo_reader_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), png in proptest::bool::ANY) {
            let mut file = if png { png_file(3, 3, 6, &[7; 36]) } else { jpeg_file(3, 3, 3) };
            // Keep the signature, so the reader goes past it into the garbage.
            file.truncate(if png { 8 } else { 2 });
            file.extend_from_slice(&bytes);
            let _ = Logo::from_bytes(&file);
            let _ = Logo::from_bytes(&bytes);
        }

        #[test]
        fn a_corrupted_png_never_panics(flip in 0usize..200, to in proptest::num::u8::ANY) {
            let mut file = png_file(5, 4, 6, &[3; 80]);
            let i = flip % file.len();
            file[i] = to;
            let _ = Logo::from_bytes(&file);
        }
    }
}
