/// A standalone SVG line chart: several named series against one x axis, labelled axes, a legend.
public enum LinePlot {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    /// - Parameter markers: vertical dashed lines at these x values, labelled (e.g. a model's training context).
    public static func render(title: String, xLabel: String, yLabel: String, series: [Series],
                              markers: [(x: Double, label: String)] = []) -> String {
        let width = 760.0, height = 440.0, left = 70.0, right = 190.0, top = 50.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let xLow = min(xs.min() ?? 0, markers.map(\.x).min() ?? .infinity)
        let xHigh = max(xs.max() ?? 1, markers.map(\.x).max() ?? -.infinity, xLow + 1e-9)
        var yLow = ys.min() ?? 0, yHigh = ys.max() ?? 1
        if yHigh - yLow < 1e-9 { yLow -= 0.5; yHigh += 0.5 }
        let pad = (yHigh - yLow) * 0.05
        yLow -= pad; yHigh += pad
        func x(_ v: Double) -> Double { left + (v - xLow) / (xHigh - xLow) * plotWidth }
        func y(_ v: Double) -> Double { top + (yHigh - v) / (yHigh - yLow) * plotHeight }
        var svg = SVG(width: width, height: height)
        svg.text(title, x: left, y: 28, size: 15, weight: "bold")
        for tick in SVG.ticks(yLow, yHigh, count: 5) {
            svg.line(x1: left, y1: y(tick), x2: left + plotWidth, y2: y(tick), stroke: "#e5e5e5")
            svg.text(SVG.number(tick), x: left - 6, y: y(tick) + 4, size: 10, anchor: "end")
        }
        for tick in SVG.ticks(xLow, xHigh, count: 8) {
            svg.line(x1: x(tick), y1: top + plotHeight, x2: x(tick), y2: top + plotHeight + 4)
            svg.text(SVG.number(tick), x: x(tick), y: top + plotHeight + 18, size: 10, anchor: "middle")
        }
        svg.line(x1: left, y1: top, x2: left, y2: top + plotHeight)
        svg.line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight)
        svg.text(xLabel, x: left + plotWidth / 2, y: height - 18, size: 12, anchor: "middle")
        svg.text(yLabel, x: 18, y: top + plotHeight / 2, size: 12, anchor: "middle", rotate: -90)
        for marker in markers {
            svg.line(x1: x(marker.x), y1: top, x2: x(marker.x), y2: top + plotHeight, stroke: "#888888", dash: "5,4")
            svg.text(marker.label, x: x(marker.x) + 4, y: top + 12, size: 10)
        }
        for (index, line) in series.enumerated() {
            let colour = colours[index % colours.count]
            svg.polyline(line.points.filter { $0.y.isFinite }.map { (x($0.x), y($0.y)) }, stroke: colour)
            let legendY = top + 10 + Double(index) * 20
            svg.line(x1: width - right + 16, y1: legendY, x2: width - right + 40, y2: legendY, stroke: colour, width: 2)
            svg.text(line.name, x: width - right + 46, y: legendY + 4, size: 11)
        }
        return svg.document
    }
}
