/// The SVG answer of `/attention` for `Accept: image/svg+xml`: one heatmap panel of weights per head,
/// axis labels, a colour scale. Large matrices are averaged into blocks so the picture stays small.
enum AttentionHeatmap {
    /// Most cells drawn over all panels.
    static let maxCells = 65_536

    /// - Parameters:
    ///   - weights: `[heads][rows][columns]`
    ///   - rowLabels, columnLabels: one per row/column (positions or token pieces)
    static func render(weights: [Float], heads: Int, rows: Int, columns: Int, rowLabels: [String], columnLabels: [String],
                       title: String) -> String {
        let side = max(1, Int((Double(maxCells) / Double(heads)).squareRoot()))
        let blockRows = (rows + side - 1) / side, blockColumns = (columns + side - 1) / side   // source cells per drawn cell
        let drawnRows = (rows + blockRows - 1) / blockRows, drawnColumns = (columns + blockColumns - 1) / blockColumns
        let cell = max(2, min(14, 420 / Double(max(drawnRows, drawnColumns))))
        let panelWidth = cell * Double(drawnColumns), panelHeight = cell * Double(drawnRows)
        let perLine = min(heads, 4)
        let left = 90.0, top = 56.0, gapX = 56.0, gapY = 70.0, legendWidth = 70.0
        let width = left + Double(perLine) * (panelWidth + gapX) + legendWidth
        let lines = (heads + perLine - 1) / perLine
        let height = top + Double(lines) * (panelHeight + gapY) + 10
        var svg = SVG(width: width, height: height)
        svg.text(title, x: left, y: 24, size: 15, weight: "bold")
        if blockRows > 1 || blockColumns > 1 {
            svg.text("each cell averages \(blockRows) × \(blockColumns) weights", x: left, y: 42, size: 11)
        }
        let maximum = Double(weights.max() ?? 1)
        for h in 0..<heads {
            let x0 = left + Double(h % perLine) * (panelWidth + gapX)
            let y0 = top + Double(h / perLine) * (panelHeight + gapY)
            svg.text(heads > 1 ? "head \(h)" : "weights", x: x0 + panelWidth / 2, y: y0 - 6, size: 12, anchor: "middle")
            for r in 0..<drawnRows {
                for c in 0..<drawnColumns {
                    var sum = 0.0, count = 0.0
                    for i in (r * blockRows)..<min(rows, (r + 1) * blockRows) {
                        for j in (c * blockColumns)..<min(columns, (c + 1) * blockColumns) {
                            sum += Double(weights[(h * rows + i) * columns + j]); count += 1
                        }
                    }
                    let value = sum / max(count, 1)
                    svg.rect(x: x0 + Double(c) * cell, y: y0 + Double(r) * cell, width: cell, height: cell,
                             fill: SVG.viridis(maximum > 0 ? value / maximum : 0))
                }
            }
            svg.rect(x: x0, y: y0, width: panelWidth, height: panelHeight, fill: "none", extra: " stroke=\"#333\"")
            for r in labelIndices(drawnRows) {
                svg.text(label(rowLabels, r * blockRows), x: x0 - 4, y: y0 + (Double(r) + 0.7) * cell, size: 9, anchor: "end")
            }
            for c in labelIndices(drawnColumns) {
                let x = x0 + (Double(c) + 0.5) * cell, y = y0 + panelHeight + 10
                svg.text(label(columnLabels, c * blockColumns), x: x, y: y, size: 9, anchor: "end", rotate: -45)
            }
            svg.text("key", x: x0 + panelWidth / 2, y: y0 + panelHeight + 52, size: 11, anchor: "middle")
            if h % perLine == 0 {
                svg.text("query", x: x0 - 62, y: y0 + panelHeight / 2, size: 11, anchor: "middle", rotate: -90)
            }
        }
        // Colour scale.
        let barX = width - legendWidth + 10, barHeight = min(200, max(panelHeight, 80))
        for step in 0..<50 {
            let t = 1 - Double(step) / 50
            svg.rect(x: barX, y: top + Double(step) * barHeight / 50, width: 14, height: barHeight / 50 + 0.5, fill: SVG.viridis(t))
        }
        svg.text(SVG.number(maximum), x: barX + 18, y: top + 8, size: 9)
        svg.text("0", x: barX + 18, y: top + barHeight, size: 9)
        svg.text("weight", x: barX, y: top - 8, size: 10)
        return svg.document
    }

    /// At most ~12 evenly spaced drawn indices to label.
    private static func labelIndices(_ count: Int) -> [Int] {
        Array(stride(from: 0, to: count, by: max(1, (count + 11) / 12)))
    }

    private static func label(_ labels: [String], _ index: Int) -> String {
        guard index < labels.count else { return "" }
        let text = labels[index]
        return text.count > 12 ? String(text.prefix(11)) + "…" : text
    }
}

/// The SVG answer of `/attention/decay`: both curves, scaled to 1 at distance 0, against distance.
enum DecayPlot {
    static func render(distance: [Int], upperBound: [Double], meanDot: [Double], headDim: Int, theta: Double) -> String {
        let width = 760.0, height = 440.0, left = 70.0, right = 190.0, top = 50.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let dotScale = meanDot.first.map { $0 != 0 ? $0 : 1 } ?? 1
        let scaledDot = meanDot.map { $0 / dotScale }
        let low = min(0, scaledDot.min() ?? 0, upperBound.min() ?? 0), high = 1.0
        let maxDistance = Double(distance.last ?? 1)
        func x(_ d: Double) -> Double { left + d / max(maxDistance, 1) * plotWidth }
        func y(_ v: Double) -> Double { top + (high - v) / (high - low) * plotHeight }
        var svg = SVG(width: width, height: height)
        svg.text("RoPE long-term decay (head_dim \(headDim), θ = \(SVG.number(theta)))", x: left, y: 28, size: 15, weight: "bold")
        for tick in SVG.ticks(low, high, count: 5) {
            svg.line(x1: left, y1: y(tick), x2: left + plotWidth, y2: y(tick), stroke: "#e5e5e5")
            svg.text(SVG.number(tick), x: left - 6, y: y(tick) + 4, size: 10, anchor: "end")
        }
        for tick in SVG.ticks(0, maxDistance, count: 8) {
            svg.line(x1: x(tick), y1: top + plotHeight, x2: x(tick), y2: top + plotHeight + 4)
            svg.text(SVG.number(tick), x: x(tick), y: top + plotHeight + 18, size: 10, anchor: "middle")
        }
        svg.line(x1: left, y1: top, x2: left, y2: top + plotHeight)
        svg.line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight)
        svg.text("relative distance m − n", x: left + plotWidth / 2, y: height - 18, size: 12, anchor: "middle")
        svg.text("value / value at distance 0", x: 18, y: top + plotHeight / 2, size: 12, anchor: "middle", rotate: -90)
        let series: [(String, [Double], String)] = [("relative upper bound", upperBound, "#1f77b4"), ("mean q·k (random q = k)", scaledDot, "#d62728")]
        for (index, (name, values, colour)) in series.enumerated() {
            svg.polyline(zip(distance, values).map { (x(Double($0)), y($1)) }, stroke: colour)
            let legendY = top + 10 + Double(index) * 20
            svg.line(x1: width - right + 16, y1: legendY, x2: width - right + 40, y2: legendY, stroke: colour, width: 2)
            svg.text(name, x: width - right + 46, y: legendY + 4, size: 11)
        }
        return svg.document
    }
}
